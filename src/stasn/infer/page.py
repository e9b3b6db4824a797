"""The page ``stasn serve`` answers on ``/``: try the model in a browser.

One self-contained HTML document (inline CSS and JavaScript, no external assets, works offline). Choose an image or a
short video, or take a few frames from the webcam (``getUserMedia``; browsers allow it on ``localhost`` or HTTPS);
each is posted to ``/v1/predict`` and the answer is shown: the spoof score, the decision at the model's threshold,
the face box and the RAM regions drawn on the picture, and the time the server took. ``/#try=<URL>`` scores the
picture at that (same-origin or ``data:``) URL on load, which is how the browser test drives it.
"""

from __future__ import annotations

__all__ = ["PAGE_HTML"]

PAGE_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>stasn — face anti-spoofing</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d2129; }
  header { background: #1d2129; color: #fff; padding: 14px 24px; }
  header h1 { font-size: 18px; margin: 0; }
  header p { margin: 4px 0 0; color: #b8bec9; font-size: 13px; }
  main { display: flex; flex-wrap: wrap; gap: 20px; padding: 20px 24px; }
  section { background: #fff; border-radius: 8px; padding: 16px; box-shadow: 0 1px 3px rgba(0,0,0,.12); }
  #controls { width: 300px; }
  #view { flex: 1; min-width: 320px; }
  button, label.file { display: inline-block; margin: 4px 0; padding: 8px 14px; border-radius: 6px; border: 0;
    background: #2f6fde; color: #fff; cursor: pointer; font-size: 14px; }
  button:disabled { background: #9aa4b5; cursor: default; }
  input[type=file] { display: none; }
  canvas, video { max-width: 100%; border-radius: 6px; background: #dde1e7; }
  #verdict { font-size: 22px; font-weight: 600; margin: 8px 0; }
  .attack { color: #c62828; } .live { color: #2e7d32; } .none { color: #6b7280; }
  table { border-collapse: collapse; margin-top: 8px; font-size: 14px; }
  td { padding: 3px 10px 3px 0; } td:first-child { color: #6b7280; }
  .legend span { display: inline-block; width: 12px; height: 12px; margin: 0 4px -1px 10px; border-radius: 2px; }
  #error { color: #c62828; white-space: pre-wrap; }
</style>
</head>
<body>
<header>
  <h1>stasn — is this face live or an attack?</h1>
  <p>STASN (TASM + RAM + SASM). spoof score: higher = more likely an attack; the decision uses the model's threshold
  fixed on its dev set. Nothing leaves this machine except to this server.</p>
</header>
<main>
  <section id="controls">
    <label class="file">Choose an image or video<input id="file" type="file" accept="image/*,video/*"></label><br>
    <button id="camera">Use the webcam</button>
    <button id="snap" disabled>Score 4 webcam frames</button>
    <video id="live" autoplay playsinline muted width="280" hidden></video>
    <div id="error"></div>
  </section>
  <section id="view">
    <div id="verdict" class="none">No picture yet</div>
    <canvas id="canvas" width="640" height="360"></canvas>
    <div class="legend"><span style="background:#ffb300"></span>face box
      <span style="background:#00b8d4"></span>RAM regions</div>
    <table id="details"></table>
  </section>
</main>
<script>
"use strict";
const canvas = document.getElementById("canvas"), ctx = canvas.getContext("2d");
const verdict = document.getElementById("verdict"), details = document.getElementById("details");
const errorBox = document.getElementById("error"), live = document.getElementById("live");
const snap = document.getElementById("snap");

function showPicture(source, width, height) {
  const scale = Math.min(1, 640 / width);
  canvas.width = Math.round(width * scale); canvas.height = Math.round(height * scale);
  ctx.drawImage(source, 0, 0, canvas.width, canvas.height);
  return scale;
}

function drawBox(box, scale, colour, width) {
  if (!box) return;
  ctx.strokeStyle = colour; ctx.lineWidth = width;
  ctx.strokeRect(box[0] * scale, box[1] * scale, (box[2] - box[0]) * scale, (box[3] - box[1]) * scale);
}

function row(name, value) {
  const tr = document.createElement("tr");
  tr.innerHTML = "<td></td><td></td>";
  tr.children[0].textContent = name; tr.children[1].textContent = value;
  details.appendChild(tr);
}

function show(result, scale, elapsed) {
  details.innerHTML = "";
  if (result.status !== "ok") {
    verdict.className = "none"; verdict.textContent = "No decision: " + (result.reason || result.status);
  } else {
    verdict.className = result.is_attack ? "attack" : "live";
    verdict.textContent = (result.is_attack ? "Attack" : "Live") + " — spoof score " + result.spoof_score.toFixed(3);
    drawBox(result.face_box, scale, "#ffb300", 3);
    (result.regions || []).forEach(r => drawBox(r, scale, "#00b8d4", 2));
  }
  row("spoof score", result.spoof_score === null ? "-" : result.spoof_score.toFixed(4));
  row("threshold", result.threshold === null ? "-" : result.threshold.toFixed(4));
  const heads = result.tasm_score === null ? "-"
    : result.tasm_score.toFixed(3) + " / " + result.sasm_score.toFixed(3);
  row("TASM / SASM", heads);
  row("kind", result.kind + (result.frames_read ? ", " + result.frames_read + " frame(s) read" : ""));
  row("server time", (result.seconds * 1000).toFixed(0) + " ms (round trip " + elapsed.toFixed(0) + " ms)");
}

async function score(blob, name) {
  const form = new FormData(); form.append("file", blob, name);
  const start = performance.now();
  const response = await fetch("/v1/predict", { method: "POST", body: form });
  const elapsed = performance.now() - start;
  const body = await response.json().catch(() => ({ detail: response.statusText }));
  if (!response.ok) throw new Error(response.status + ": " + (body.detail || JSON.stringify(body)));
  return [body, elapsed];
}

async function scoreFile(file) {
  errorBox.textContent = ""; verdict.className = "none"; verdict.textContent = "Scoring…";
  try {
    let scale = 1;
    if (file.type.startsWith("video/")) {
      const video = document.createElement("video");
      video.muted = true; video.src = URL.createObjectURL(file);
      await new Promise((ok, fail) => { video.onloadeddata = ok; video.onerror = fail; });
      scale = showPicture(video, video.videoWidth, video.videoHeight);
    } else {
      const image = await createImageBitmap(file);
      scale = showPicture(image, image.width, image.height);
    }
    const [result, elapsed] = await score(file, file.name);
    show(result, scale, elapsed);
    document.body.dataset.state = "scored";
  } catch (err) {
    errorBox.textContent = String(err.message || err); verdict.textContent = "Failed";
    document.body.dataset.state = "failed";
  }
}

document.getElementById("file").addEventListener("change", (event) => {
  if (event.target.files[0]) scoreFile(event.target.files[0]);
});

// A link can carry a picture to score: /#try=<URL, same-origin or data:> (e.g. from a gallery or a test).
window.addEventListener("load", async () => {
  if (!location.hash.startsWith("#try=")) return;
  try {
    const blob = await (await fetch(decodeURIComponent(location.hash.slice(5)))).blob();
    const name = blob.type.startsWith("video/") ? "linked.mp4" : "linked-image";
    await scoreFile(new File([blob], name, { type: blob.type }));
  } catch (err) { errorBox.textContent = "Cannot load the linked picture: " + (err.message || err); }
});

document.getElementById("camera").addEventListener("click", async () => {
  errorBox.textContent = "";
  try {
    live.srcObject = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
    live.hidden = false; snap.disabled = false;
  } catch (err) { errorBox.textContent = "Webcam not available: " + (err.message || err); }
});

snap.addEventListener("click", async () => {
  errorBox.textContent = ""; snap.disabled = true;
  const grab = document.createElement("canvas");
  grab.width = live.videoWidth; grab.height = live.videoHeight;
  const scores = [];
  try {
    for (let i = 0; i < 4; i++) {
      grab.getContext("2d").drawImage(live, 0, 0);
      const blob = await new Promise(ok => grab.toBlob(ok, "image/jpeg", 0.92));
      const scale = showPicture(grab, grab.width, grab.height);
      const [result, elapsed] = await score(blob, "webcam-" + i + ".jpg");
      show(result, scale, elapsed);
      if (result.spoof_score !== null) scores.push(result.spoof_score);
      await new Promise(ok => setTimeout(ok, 250));
    }
    const mean = scores.reduce((a, b) => a + b, 0) / Math.max(1, scores.length);
    if (scores.length) row("mean of " + scores.length + " frames", mean.toFixed(4));
  } catch (err) { errorBox.textContent = String(err.message || err); }
  snap.disabled = false;
});
</script>
</body>
</html>
"""
