// authd pages: the only script. The pages work without it; it adds the
// live countdown of the access token's lifetime. Loaded with defer from
// the page's own origin (the CSP allows no inline script).
(function () {
  "use strict";
  var timers = document.querySelectorAll("[data-countdown]");
  if (!timers.length) {
    return;
  }
  var start = performance.now();

  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }

  function format(s) {
    var h = Math.floor(s / 3600);
    var m = Math.floor((s % 3600) / 60);
    var sec = s % 60;
    return (h ? h + ":" + pad(m) : String(m)) + ":" + pad(sec);
  }

  function tick() {
    var gone = Math.floor((performance.now() - start) / 1000);
    var running = false;
    timers.forEach(function (el) {
      var left = parseInt(el.getAttribute("data-ttl"), 10) - gone;
      if (isNaN(left)) {
        return;
      }
      if (left > 0) {
        el.textContent = "— in " + format(left);
        running = true;
      } else {
        el.textContent = "— expired";
        el.classList.add("countdown-expired");
      }
    });
    if (!running) {
      clearInterval(interval);
    }
  }

  var interval = setInterval(tick, 1000);
  tick();
})();
