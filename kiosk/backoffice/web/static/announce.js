/* Lobby announcements: chime, then the call as audio the back-office made offline
   (GET /api/v1/wards/{ward}/announcements/{number}?counter=N: Ogg Vorbis, Japanese then
   the ward's other languages; Open JTalk + espeak-ng on the server). It plays through the
   page's <audio id="announcement"> element — not the browser's speech synthesis, which
   headless and many display PCs lack. The audio is fetched with the display's credentials
   (its bearer token or the staff cookie) while the chime plays, and given to the element
   as a blob: URL. No audio (server off or failing) → chime only.
   Calls are queued so two counters calling at once are both heard, in order.
   window.Announcer.log records what happened (tests and maintainers read it). */
(function () {
  "use strict";
  const log = [];
  const queue = [];
  let busy = false;
  let chime = null;
  const cfg = window.Live.config();

  function chimeEl() {
    if (!chime) {
      chime = new Audio(document.body.dataset.chime || "chime.wav");
      chime.preload = "auto";
    }
    return chime;
  }

  function voiceEl() {
    return document.getElementById("announcement");
  }

  function audioUrl(call) {
    return cfg.api + "/wards/" + encodeURIComponent(cfg.ward) + "/announcements/" +
      encodeURIComponent(call.label) + "?counter=" + encodeURIComponent(call.counter);
  }

  function fetchAudio(call) {
    const url = audioUrl(call);
    return fetch(url, { credentials: "same-origin", headers: window.Live.authHeaders() })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.blob();
      })
      .then(function (blob) { return { url: url, blob: blob }; },
            function (err) { return { url: url, error: String(err && err.message || err) }; });
  }

  function playChime() {
    return new Promise(function (resolve) {
      const a = chimeEl();
      let done = false;
      function finish(result) { if (!done) { done = true; log.push({ kind: "chime", result: result }); resolve(); } }
      try {
        a.currentTime = 0;
        a.onended = function () { finish("played"); };
        const p = a.play();
        if (p && p.catch) {
          p.catch(function (err) {
            // Autoplay refused until someone touches the screen once: say so on screen.
            const hint = document.getElementById("sound-hint");
            if (hint) hint.hidden = false;
            finish("blocked:" + (err && err.name));
          });
        }
      } catch (e) { finish("error"); }
      setTimeout(function () { finish("timeout"); }, 3000);
    });
  }

  function playVoice(got) {
    return new Promise(function (resolve) {
      const a = voiceEl();
      const entry = { kind: "speech", src: got.url };
      let done = false;
      function finish(result) {
        if (done) return;
        done = true;
        entry.result = result;
        entry.duration = a && isFinite(a.duration) ? a.duration : 0;
        log.push(entry);
        if (a && a.src.indexOf("blob:") === 0) URL.revokeObjectURL(a.src);
        resolve();
      }
      if (got.error || !a) { finish("no-audio:" + (got.error || "no element")); return; }
      a.onended = function () { finish("played"); };
      a.onerror = function () { finish("error:" + (a.error && a.error.code)); };
      a.src = URL.createObjectURL(got.blob);
      const p = a.play();
      if (p && p.catch) p.catch(function (err) { finish("blocked:" + (err && err.name)); });
      // A call is at most a few languages long; never hold the queue for ever.
      setTimeout(function () { finish("timeout"); }, 60000);
    });
  }

  function announceOne(call) {
    const audio = fetchAudio(call);  // made on the server while the chime plays
    return playChime().then(function () { return audio; }).then(playVoice);
  }

  function pump() {
    if (busy || !queue.length) return;
    busy = true;
    const call = queue.shift();
    log.push({ kind: "call", label: call.label, prefix: call.prefix, number: call.number, counter: call.counter });
    announceOne(call).then(function () { busy = false; pump(); }, function () { busy = false; pump(); });
  }

  document.addEventListener("click", function () {
    // The first touch unlocks audio where autoplay is not allowed.
    [chimeEl(), voiceEl()].forEach(function (a) {
      if (!a) return;
      a.muted = true;
      const p = a.play();
      if (p && p.then) p.then(function () { a.pause(); a.muted = false; }, function () { a.muted = false; });
    });
    const hint = document.getElementById("sound-hint");
    if (hint) hint.hidden = true;
  }, { once: true });

  window.Announcer = {
    log: log,
    url: audioUrl,
    announce: function (call) { queue.push(call); pump(); }
  };
})();
