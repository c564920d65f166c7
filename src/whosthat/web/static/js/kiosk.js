// Kiosk page: camera preview, one liveness session per attempt, JPEG frames over a WebSocket.
// The server decides everything (prompts, pass/fail, who it is); this script only shows what it says.
// Protocol: docs/api.md, "Kiosk protocol".
(function () {
  "use strict";

  var root = document.getElementById("kiosk");
  var kiosk = root.dataset.kiosk || "kiosk";
  var sessionsUrl = root.dataset.sessionsUrl;
  var presenceUrl = root.dataset.presenceUrl;
  var pinUrl = root.dataset.pinUrl;
  var resetMs = parseInt(root.dataset.resetMs || "6000", 10);
  var video = document.getElementById("video");
  var videoBox = document.getElementById("video-box");
  var els = {
    title: document.getElementById("title"),
    guidance: document.getElementById("guidance"),
    prompt: document.getElementById("prompt"),
    steps: document.getElementById("steps"),
    result: document.getElementById("result"),
    detail: document.getElementById("detail"),
    start: document.getElementById("start"),
    clock: document.getElementById("clock"),
    countdown: document.getElementById("countdown"),
    pinOpen: document.getElementById("pin-open"),
    pinForm: document.getElementById("pin-form"),
    pinCode: document.getElementById("pin-code"),
    pinPin: document.getElementById("pin-pin"),
    pinCancel: document.getElementById("pin-cancel"),
    arrow: document.getElementById("arrow"),
  };

  // Every text this script shows, in the kiosk's language, rendered into the page by the server
  // (pages/kiosk.py kiosk_texts): failure reasons (liveness.outcomes), step prompts and guidance
  // (liveness.challenge), the page's own words. The API's messages are English: the script shows the
  // text of their codes and holds no English of its own.
  var T = JSON.parse(document.getElementById("kiosk-texts").textContent);
  var MESSAGES = T.reasons;
  var W = T.words;
  function fmt(template, values) {
    return String(template || "").replace(/%\((\w+)\)s/g, function (all, key) {
      return values[key] === undefined ? all : String(values[key]);
    });
  }
  // Screen readers: #kiosk-status (polite) says the step and its prompt, each new hint, the time left at
  // a few points and the welcome; #kiosk-alert says a failure. The visible countdown is not live (every
  // second would drown the prompt).
  var liveStatus = document.getElementById("kiosk-status");
  var liveAlert = document.getElementById("kiosk-alert");
  var COUNTDOWN_POINTS = [20, 10, 5]; // seconds left that are said (those below the attempt's time)
  var SAY_AT_LEAST_MS = 1200; // a hint waits this long after the step it follows (it would cut it off)
  function announce(region, message, isHint) {
    // Emptied first, so that the same words said again are announced again. A step, an outcome or a
    // clearing goes at once (dropping a hint still waiting); a hint (a guidance code, the time left) waits
    // until the words before it have stood SAY_AT_LEAST_MS, the newest waiting hint replacing an older one.
    var q = region.__say || (region.__say = { timer: null, message: "", since: 0 });
    q.message = message;
    if (q.timer) { clearTimeout(q.timer); q.timer = null; }
    var wait = isHint ? Math.max(0, q.since + SAY_AT_LEAST_MS - Date.now()) : 0;
    function put() {
      region.textContent = "";
      q.timer = message ? setTimeout(function () {
        q.timer = null;
        region.textContent = q.message;
        q.since = Date.now();
      }, 60) : null;
    }
    if (wait > 0) q.timer = setTimeout(put, wait); else put();
  }
  function reasonText(reason, advice) {
    if (reason === "print_attack" && advice && T.advice[advice]) return T.advice[advice];
    return MESSAGES[reason] || MESSAGES.failed;
  }

  var state = { ws: null, timer: null, busy: false, stream: null, resetTimer: null, gotResult: false,
                countdown: null, deadline: 0, steps: 0, completed: 0 };
  var canvas = document.createElement("canvas");
  // Automatic start: while the kiosk waits, a small frame a second goes to the presence check; a face
  // that appears (close enough to the camera) starts the login. After a failure the face has to leave
  // first (or the person presses Start), so nobody standing still is asked again and again.
  var presence = { timer: null, pending: false, waitAway: false, skip: 0 };
  var small = document.createElement("canvas");

  function text(el, value) { el.textContent = value || ""; }
  function show(el, visible) { el.classList.toggle("hidden", !visible); }

  // The kiosk's configured time zone (the page names it beside the clock), not the browser's: the same
  // clock as the welcome's "clocked in at".
  var clockFormat;
  try {
    clockFormat = new Intl.DateTimeFormat(T.locale, { hour: "2-digit", minute: "2-digit", hour12: false,
                                                      timeZone: els.clock.dataset.timezone || "UTC" });
  } catch (e) {
    clockFormat = null; // a zone this browser does not know: no clock rather than a wrong one
  }
  function tick() {
    text(els.clock, clockFormat ? clockFormat.format(new Date()) : "");
  }
  tick();
  setInterval(tick, 10000);

  // The time left for this attempt, counted on this browser's clock from the session's timeout_s (the
  // server's expires_at is on the server's clock, which the kiosk's may not match).
  function startCountdown(seconds) {
    stopCountdown();
    state.deadline = Date.now() + seconds * 1000;
    var points = COUNTDOWN_POINTS.filter(function (p) { return p < seconds; });
    function update() {
      var left = Math.max(0, Math.ceil((state.deadline - Date.now()) / 1000));
      if (points.length && left <= points[0] && left > 0) {
        announce(liveStatus, fmt(W.say_seconds_left, { seconds: points[0] }), true);
        points = points.filter(function (p) { return p < left; });
      }
      text(els.countdown, fmt(W.seconds_left, { seconds: left }));
      els.countdown.classList.toggle("low", left <= 10);
    }
    update();
    state.countdown = setInterval(update, 250);
  }

  function stopCountdown() {
    if (state.countdown) { clearInterval(state.countdown); state.countdown = null; }
    text(els.countdown, "");
    els.countdown.classList.remove("low");
  }

  // An arrow on the mirrored preview for a head turn: the person's left is the screen's left there.
  function showArrow(kind) {
    var dir = kind === "turn_left" ? "left" : kind === "turn_right" ? "right" : null;
    els.arrow.className = "arrow" + (dir ? " " + dir : " hidden");
    text(els.arrow, dir === "left" ? "\u2190" : dir === "right" ? "\u2192" : "");
  }

  function checkPresence() {
    if (state.pinMode || state.ws || state.starting || presence.pending || !state.stream || state.resetTimer || document.hidden) return;
    if (presence.skip > 0) { presence.skip--; return; }
    var w = video.videoWidth, h = video.videoHeight;
    if (!w || !h) return;
    var scale = Math.min(1, 320 / w, 240 / h);
    small.width = Math.round(w * scale);
    small.height = Math.round(h * scale);
    small.getContext("2d").drawImage(video, 0, 0, small.width, small.height);
    presence.pending = true;
    small.toBlob(function (blob) {
      if (!blob) { presence.pending = false; return; }
      fetch(presenceUrl, {
        method: "POST",
        headers: { "Content-Type": "image/jpeg", "Accept": "application/json" },
        credentials: "same-origin",
        body: blob,
      }).then(function (resp) {
        if (resp.status === 429) { presence.skip = 10; return null; }
        return resp.ok ? resp.json() : null;
      }).then(function (body) {
        presence.pending = false;
        if (!body) return;
        if (!body.face) { presence.waitAway = false; return; }
        if (!presence.waitAway) start();
      }).catch(function () { presence.pending = false; });
    }, "image/jpeg", 0.7);
  }

  function watchForFaces() {
    if (!presence.timer && presenceUrl) presence.timer = setInterval(checkPresence, 1000);
  }

  function idle(message) {
    stopStreaming();
    stopCountdown();
    showArrow(null);
    state.resetTimer = null;
    text(els.title, W.idle_title);
    text(els.guidance, message || W.idle_guidance);
    text(els.prompt, "");
    els.steps.innerHTML = "";
    show(els.result, false);
    els.result.className = "kiosk-result hidden";
    text(els.detail, "");
    els.start.disabled = !state.stream;
    show(els.start, true);
    show(els.pinOpen, true);
    show(els.pinForm, false);
    state.pinMode = false;
    els.start.focus();
    videoBox.classList.remove("good", "bad");
  }

  function renderSteps(n, completed, current, failed) {
    state.steps = n;
    state.completed = completed;
    els.steps.innerHTML = "";
    for (var i = 0; i < n; i++) {
      var li = document.createElement("li");
      if (i < completed) li.className = "done";
      else if (i === current) li.className = failed ? "failed" : "current";
      var label = i < completed ? W.step_done : i === current && failed ? W.step_failed : W.step;
      li.setAttribute("aria-label", fmt(label, { step: i + 1, of: n }));
      els.steps.appendChild(li);
    }
  }

  function wsUrl(path) {
    var u = new URL(path, window.location.href);
    u.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
    return u.toString();
  }

  function stopStreaming() {
    if (state.timer) { clearInterval(state.timer); state.timer = null; }
    if (state.ws) {
      try { state.ws.close(); } catch (e) { /* already closed */ }
      state.ws = null;
    }
    state.busy = false;
  }

  function sendFrame() {
    var ws = state.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || state.busy) return;
    if (ws.bufferedAmount > 512 * 1024) return; // the network is behind: skip rather than queue
    var w = video.videoWidth, h = video.videoHeight;
    if (!w || !h) return;
    var scale = Math.min(1, 640 / w, 480 / h);
    canvas.width = Math.round(w * scale);
    canvas.height = Math.round(h * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    state.busy = true;
    canvas.toBlob(function (blob) {
      state.busy = false;
      if (blob && state.ws === ws && ws.readyState === WebSocket.OPEN) ws.send(blob);
    }, "image/jpeg", 0.85);
  }

  function finish(msg) {
    state.starting = false;
    state.pinMode = false;
    show(els.pinForm, false);
    show(els.pinOpen, false);
    state.gotResult = true;
    stopStreaming();
    stopCountdown();
    showArrow(null);
    text(els.guidance, "");
    text(els.prompt, "");
    show(els.result, true);
    if (msg.passed) {
      els.result.className = "kiosk-result ok";
      text(els.title, W.signed_in);
      text(els.result, welcomeText(msg));
      els.result.dataset.recorded = msg.recorded === false ? "no" : "yes";
      announce(liveStatus, els.result.textContent);
      videoBox.classList.remove("bad");
      videoBox.classList.add("good");
      // No new challenge before the employee page opens (a second pass would clock the person out).
      presence.waitAway = true;
      if (msg.redirect) {
        state.leaving = true;
        text(els.detail, W.opening_page);
        var target = new URL(msg.redirect, window.location.href);
        target.searchParams.set("kiosk", kiosk);
        setTimeout(function () { window.location.assign(target.toString()); }, 2500);
        return;
      }
    } else {
      els.result.className = "kiosk-result fail";
      text(els.title, W.not_signed_in);
      text(els.result, reasonText(msg.reason, msg.advice));
      els.result.dataset.reason = msg.reason || "";
      announce(liveStatus, "");
      announce(liveAlert, els.result.textContent);
      // The step bar says where it stopped: done steps green, the one that failed red (not "current").
      if (state.steps) renderSteps(state.steps, state.completed, state.completed, true);
      videoBox.classList.remove("good");
      videoBox.classList.add("bad");
    }
    presence.waitAway = true; // the next automatic start waits for this face to leave
    state.resetTimer = setTimeout(function () { idle(); }, resetMs);
  }

  // The welcome in the kiosk's language: the person's name, in or out, the time on the kiosk's clock.
  // Inside the repeat window nothing was recorded (recorded false): it says so, with the last event's time.
  function welcomeText(msg) {
    var repeat = msg.recorded === false;
    var ev = (repeat ? msg.last_event : msg.event) || {};
    var at = ev.at ? new Date(ev.at) : new Date();
    var values = { name: (msg.person && msg.person.name) || "", time: clockFormat ? clockFormat.format(at) : "",
                   zone: els.clock.dataset.timezone || "UTC" };
    var key = repeat ? (ev.kind === "out" ? "repeat_out" : "repeat_in")
      : (ev.kind === "out" ? "welcome_out" : "welcome_in") + (ev.source === "pin" ? "_pin" : "");
    return fmt(W[key], values);
  }

  function onMessage(ev) {
    var msg;
    try { msg = JSON.parse(ev.data); } catch (e) { return; }
    if (msg.type === "guidance") {
      text(els.guidance, T.guidance[msg.code] || "");
      // Said once per new hint (the server repeats a hint every few seconds while it holds).
      if (msg.code && msg.code !== state.saidGuidance) announce(liveStatus, T.guidance[msg.code], true);
      state.saidGuidance = msg.code;
      // Face problems (no face, too far, several people) turn the oval amber; step hints do not.
      videoBox.classList.toggle("bad", !!msg.code && msg.code !== "look_back");
    } else if (msg.type === "prompt") {
      text(els.prompt, T.prompts[msg.kind] || "");
      text(els.guidance, "");
      showArrow(msg.kind);
      announce(liveStatus, fmt(W.say_step, { step: msg.step + 1, of: msg.of, prompt: T.prompts[msg.kind] || "" }));
      videoBox.classList.remove("bad");
      renderSteps(msg.of, msg.step, msg.step);
    } else if (msg.type === "progress") {
      videoBox.classList.remove("bad");
      renderSteps(msg.of, msg.completed, msg.completed);
    } else if (msg.type === "result") {
      finish(msg);
    }
  }

  function start() {
    if (!state.stream || state.ws || state.starting || state.pinMode || state.leaving) return;
    state.starting = true;
    show(els.pinOpen, false);
    if (state.resetTimer) { clearTimeout(state.resetTimer); state.resetTimer = null; }
    show(els.start, false);
    show(els.result, false);
    text(els.detail, "");
    text(els.title, W.starting);
    text(els.guidance, "");
    state.gotResult = false;
    state.saidGuidance = null;
    announce(liveAlert, "");
    fetch(sessionsUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ kiosk: kiosk }),
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (body) {
        if (resp.status === 429) {
          finish({ passed: false, reason: "locked_out" });
          return;
        }
        if (!resp.ok) {
          var code = body.error;
          finish({ passed: false, reason: MESSAGES[code] ? code : "start_failed" });
          return;
        }
        run(body);
      });
    }).catch(function () {
      finish({ passed: false, reason: "connection" });
    });
  }

  function run(session) {
    state.starting = false;
    text(els.title, W.running);
    renderSteps(session.steps.length, 0, 0);
    if (session.steps.length) text(els.prompt, T.prompts[session.steps[0]] || "");
    showArrow(session.steps[0]);
    startCountdown(session.timeout_s || Math.max(1, session.expires_at - Date.now() / 1000));
    var interval = session.frame_interval_ms || 100;
    var ws = new WebSocket(wsUrl(session.ws_url));
    ws.binaryType = "arraybuffer";
    state.ws = ws;
    ws.onopen = function () {
      sendFrame();
      state.timer = setInterval(sendFrame, interval);
    };
    ws.onmessage = onMessage;
    ws.onclose = function () {
      if (state.ws === ws) state.ws = null;
      if (!state.gotResult) finish({ passed: false, reason: "connection" });
    };
  }

  // The fallback when the face fails: employee code + PIN. The server records such an entry as a PIN
  // event, flagged for review; the result is shown like a face login's.
  function openPin() {
    if (state.ws || state.starting) return;
    if (state.resetTimer) { clearTimeout(state.resetTimer); state.resetTimer = null; }
    state.pinMode = true;
    show(els.start, false);
    show(els.pinOpen, false);
    show(els.result, false);
    text(els.detail, "");
    text(els.title, W.pin_title);
    text(els.guidance, "");
    text(els.prompt, "");
    els.steps.innerHTML = "";
    state.steps = 0;
    show(els.pinForm, true);
    els.pinCode.value = "";
    els.pinPin.value = "";
    els.pinCode.focus();
  }

  function submitPin(ev) {
    ev.preventDefault();
    var body = { kiosk: kiosk, employee_code: els.pinCode.value.trim(), pin: els.pinPin.value };
    els.pinPin.value = "";
    fetch(pinUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify(body),
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (out) {
        if (resp.ok) { finish(out); return; }
        if (resp.status === 429) { finish({ passed: false, reason: "locked_out" }); return; }
        var reason = "failed";
        if (resp.status === 401) reason = "pin_wrong";
        else if (out.error === "kiosk_not_paired") reason = "kiosk_not_paired";
        else if (resp.status === 400 || resp.status === 422) reason = "pin_invalid";
        finish({ passed: false, reason: reason });
      });
    }).catch(function () { finish({ passed: false, reason: "connection" }); });
  }

  els.pinOpen.addEventListener("click", openPin);
  els.pinCancel.addEventListener("click", function () { idle(); });
  els.pinForm.addEventListener("submit", submitPin);
  els.start.addEventListener("click", start);
  document.addEventListener("keydown", function (ev) {
    if ((ev.key === "Enter" || ev.key === " ") && !els.start.classList.contains("hidden") && !els.start.disabled
        && document.activeElement !== els.start && document.activeElement !== els.pinOpen) {
      ev.preventDefault();
      start();
    }
  });

  els.start.disabled = true;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    finish({ passed: false, reason: "camera" });
    return;
  }
  navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false })
    .then(function (stream) {
      state.stream = stream;
      video.srcObject = stream;
      idle();
      watchForFaces();
    })
    .catch(function () {
      text(els.title, W.camera_title);
      text(els.guidance, MESSAGES.camera);
    });
})();
