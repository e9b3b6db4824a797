"""Display devices an attacker replays a face on: phone, tablet and monitor presets.

Each preset is a range of physical designs (sizes in millimetres, pixel density in pixels per inch). The numbers are
typical of devices sold 2012-2024 (our reading of spec sheets), not values from the STASN paper.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["DevicePreset", "DEVICES", "LAYOUTS", "BEZEL_COLOURS"]

LAYOUTS = ("rgb-stripe", "pentile-diamond")  # sub-pixel layouts stasn.synth.display can render

# sRGB colours of device bodies seen around the screen.
BEZEL_COLOURS: dict[str, tuple[int, int, int]] = {
    "black": (18, 18, 20),
    "dark-grey": (58, 58, 62),
    "silver": (172, 174, 178),
    "white": (228, 228, 224),
}


@dataclass(frozen=True)
class DevicePreset:
    """A family of display devices. Ranges are ``(low, high)``; widths are of the active (lit) area."""

    name: str
    short_side_mm: tuple[float, float]  # active-area short side
    aspect: tuple[float, float]  # active-area long side / short side
    ppi: tuple[float, float]  # panel pixels per inch
    bezel_side_mm: tuple[float, float]  # body border beside the long sides of the active area
    bezel_end_mm: tuple[float, float]  # body border at the ends (phone chin/forehead, monitor bottom)
    body_corner_mm: tuple[float, float]  # corner radius of the device body
    screen_corner_mm: tuple[float, float]  # corner radius of the active area (rounded phone displays)
    portrait_probability: float  # held with the long side vertical
    layouts: dict[str, float] = field(default_factory=dict)  # sub-pixel layout -> weight
    oled_probability: float = 0.0  # OLED panels have no backlight, hence no bleed and a true black


DEVICES: dict[str, DevicePreset] = {
    "phone": DevicePreset(
        name="phone",
        short_side_mm=(58.0, 75.0),
        aspect=(1.78, 2.22),
        ppi=(260.0, 560.0),
        bezel_side_mm=(0.8, 4.0),
        bezel_end_mm=(1.5, 12.0),
        body_corner_mm=(6.0, 12.0),
        screen_corner_mm=(0.0, 8.0),
        portrait_probability=0.8,
        layouts={"pentile-diamond": 0.6, "rgb-stripe": 0.4},
        oled_probability=0.6,
    ),
    "tablet": DevicePreset(
        name="tablet",
        short_side_mm=(120.0, 200.0),
        aspect=(1.33, 1.6),
        ppi=(130.0, 330.0),
        bezel_side_mm=(4.0, 20.0),
        bezel_end_mm=(5.0, 22.0),
        body_corner_mm=(8.0, 15.0),
        screen_corner_mm=(0.0, 6.0),
        portrait_probability=0.5,
        layouts={"rgb-stripe": 0.8, "pentile-diamond": 0.2},
        oled_probability=0.2,
    ),
    "monitor": DevicePreset(
        name="monitor",
        short_side_mm=(160.0, 340.0),  # 13" laptops to 27" monitors
        aspect=(1.6, 1.78),
        ppi=(80.0, 220.0),
        bezel_side_mm=(3.0, 20.0),
        bezel_end_mm=(3.0, 25.0),
        body_corner_mm=(0.0, 3.0),
        screen_corner_mm=(0.0, 0.5),
        portrait_probability=0.0,
        layouts={"rgb-stripe": 1.0},
        oled_probability=0.05,
    ),
}
