// Add-person / add-photos forms: take enrollment photos with this computer's camera, with a live
// quality check done by the server (the same rules as enrollment: one face, large enough, sharp,
// frontal). Snapshots go into a hidden <input type=file> so the normal form post carries them.
(function () {
  "use strict";

  var form = document.querySelector("form[data-quality-url]");
  if (!form) return;
  var qualityUrl = form.dataset.qualityUrl;
  var csrf = (document.querySelector("meta[name=csrf-token]") || {}).content || "";
  var startBtn = document.getElementById("camera-start");
  var stopBtn = document.getElementById("camera-stop");
  var shootBtn = document.getElementById("camera-shoot");
  var panel = document.getElementById("camera");
  var box = document.getElementById("camera-box");
  var video = document.getElementById("camera-video");
  var list = document.getElementById("quality");
  var shots = document.getElementById("shots");
  var shotsEmpty = document.getElementById("shots-empty");
  var captured = document.getElementById("captured-input");
  // The page's texts (pages/people.py: capture_texts): words, the quality reasons by code, the refusals
  // by the API's error code. The API itself answers in English; only its codes and values are used here.
  var textsEl = document.getElementById("capture-texts");
  var T = textsEl ? JSON.parse(textsEl.textContent) : { words: {}, reasons: {}, errors: {}, locale: "en-GB" };
  var W = T.words;
  var numbers = new Intl.NumberFormat(T.locale || "en-GB");
  var files = [];
  var stream = null, timer = null, inFlight = false, counter = 0;
  var checkCanvas = document.createElement("canvas");
  var shotCanvas = document.createElement("canvas");

  function grab(canvas, callback) {
    var w = video.videoWidth, h = video.videoHeight;
    if (!w || !h) { callback(null); return; }
    canvas.width = w;
    canvas.height = h;
    canvas.getContext("2d").drawImage(video, 0, 0, w, h);
    canvas.toBlob(callback, "image/jpeg", 0.92);
  }

  function fmt(template, values) {
    return String(template || "").replace(/%\((\w+)\)s/g, function (all, key) {
      var v = values ? values[key] : undefined;
      if (v === undefined) return all;
      return typeof v === "number" ? numbers.format(v) : String(v);
    });
  }

  // A reason of the quality check in the page's language: its code's text with its values; the English
  // message only for a code this page does not know.
  function reasonText(problem) {
    var template = T.reasons[problem.code];
    return template ? fmt(template, problem.values || {}) : String(problem.message || problem.code);
  }

  function render(ok, lines) {
    list.innerHTML = "";
    lines.forEach(function (line) {
      var li = document.createElement("li");
      li.className = ok ? "ok" : "bad";
      li.textContent = line;
      list.appendChild(li);
    });
    box.classList.toggle("good", ok);
    box.classList.toggle("bad", !ok);
  }

  function check() {
    if (inFlight || !stream) return;
    inFlight = true;
    grab(checkCanvas, function (blob) {
      if (!blob) { inFlight = false; return; }
      var body = new FormData();
      body.append("image", blob, "frame.jpg");
      fetch(qualityUrl, { method: "POST", body: body, credentials: "same-origin",
                          headers: { "X-CSRF-Token": csrf, "Accept": "application/json" } })
        .then(function (resp) {
          return resp.json().catch(function () { return {}; }).then(function (data) {
            var problems = data.problems || [];
            var ok = resp.ok && data.ok === true;
            if (ok) render(true, [W.good]);
            else if (resp.ok && problems.length) render(false, problems.map(reasonText));
            else if (resp.ok) render(false, [W.no_face_yet]);
            else render(false, [T.errors[data.error] || fmt(W.check_failed, { code: data.error || resp.status })]);
          });
        })
        .catch(function () { render(false, [W.unreachable]); })
        .then(function () { inFlight = false; });
    });
  }

  function syncInput() {
    var dt = new DataTransfer();
    files.forEach(function (f) { dt.items.add(f); });
    captured.files = dt.files;
    shotsEmpty.classList.toggle("hidden", files.length > 0);
  }

  function addShot(blob) {
    counter += 1;
    var file = new File([blob], "camera-" + counter + ".jpg", { type: "image/jpeg" });
    files.push(file);
    var fig = document.createElement("figure");
    var thumb = document.createElement("canvas"); // a canvas, not <img src=blob:>, keeps the CSP strict
    thumb.width = 96; thumb.height = 72;
    thumb.getContext("2d").drawImage(shotCanvas, 0, 0, 96, 72);
    thumb.setAttribute("role", "img");
    thumb.setAttribute("aria-label", fmt(W.photo, { num: counter }));
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "btn btn-secondary btn-small";
    remove.textContent = "×";
    remove.setAttribute("aria-label", fmt(W.remove_photo, { num: counter }));
    remove.addEventListener("click", function () {
      files = files.filter(function (f) { return f !== file; });
      fig.remove();
      syncInput();
    });
    fig.appendChild(thumb);
    fig.appendChild(remove);
    shots.appendChild(fig);
    syncInput();
  }

  function stop() {
    if (timer) { clearInterval(timer); timer = null; }
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    panel.classList.add("hidden");
    startBtn.classList.remove("hidden");
  }

  startBtn.addEventListener("click", function () {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      render(false, [W.no_camera]);
      panel.classList.remove("hidden");
      return;
    }
    panel.classList.remove("hidden");
    startBtn.classList.add("hidden");
    navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false })
      .then(function (s) {
        stream = s;
        video.srcObject = s;
        timer = setInterval(check, 900);
      })
      .catch(function (err) {
        render(false, [fmt(W.camera_failed, { error: err && err.name ? err.name : W.unknown_error })]);
      });
  });
  stopBtn.addEventListener("click", stop);
  shootBtn.addEventListener("click", function () { grab(shotCanvas, function (blob) { if (blob) addShot(blob); }); });
  // The server refuses a request body over its upload limit before reading it; say so here instead.
  var maxBytes = parseInt(form.dataset.maxBytes || "0", 10);
  form.addEventListener("submit", function (ev) {
    var total = 0;
    form.querySelectorAll("input[type=file]").forEach(function (input) {
      Array.prototype.forEach.call(input.files || [], function (f) { total += f.size; });
    });
    if (maxBytes && total > maxBytes) {
      ev.preventDefault();
      var error = document.getElementById("photos-error");
      var mb1 = new Intl.NumberFormat(T.locale || "en-GB", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
      var mb0 = new Intl.NumberFormat(T.locale || "en-GB", { maximumFractionDigits: 0 });
      error.textContent = fmt(W.too_large, { total: mb1.format(total / 1048576), max: mb0.format(maxBytes / 1048576) });
      error.classList.remove("hidden");
      error.scrollIntoView({ block: "center" });
      return;
    }
    if (timer) clearInterval(timer);
  });
})();
