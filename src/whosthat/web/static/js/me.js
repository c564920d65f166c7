// Employee page opened from a shared kiosk: sign out by itself after a short idle time, so the next
// person at the kiosk never sees this page. Any touch, click or key restarts the countdown.
(function () {
  "use strict";
  var form = document.getElementById("me-logout-form");
  var count = document.getElementById("idle-count");
  if (!form || !form.dataset.idleLogoutS) return;
  var total = parseInt(form.dataset.idleLogoutS, 10) || 30;
  var left = total;
  function reset() { left = total; if (count) count.textContent = String(left); }
  ["pointerdown", "keydown", "touchstart"].forEach(function (ev) { document.addEventListener(ev, reset, { passive: true }); });
  setInterval(function () {
    left -= 1;
    if (count) count.textContent = String(Math.max(0, left));
    if (left <= 0) form.submit();
  }, 1000);
})();
