"""``python -m stasn ...`` (used by ``torchrun -m stasn train ...``)."""

from stasn.cli.main import app

app(prog_name="stasn")
