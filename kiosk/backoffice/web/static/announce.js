/* Lobby announcements: chime, then the call spoken in Japanese and English.

   Only the browser's OFFLINE voices are used (SpeechSynthesisVoice.localService): a ward
   network is closed, and an online voice is exactly what breaks peers' announcements.
   No local voice for a language → that language is skipped; no voice at all → chime only.
   Calls are queued so two counters calling at once are both heard, in order.
   window.Announcer.log records what happened (tests and maintainers read it). */
(function () {
  "use strict";
  const log = [];
  const queue = [];
  let busy = false;
  let chime = null;

  function chimeEl() {
    if (!chime) {
      chime = new Audio(document.body.dataset.chime || "chime.wav");
      chime.preload = "auto";
    }
    return chime;
  }

  function localVoice(prefix) {
    if (!("speechSynthesis" in window)) return null;
    const voices = window.speechSynthesis.getVoices().filter(function (v) { return v.localService; });
    const exact = voices.find(function (v) { return v.lang.toLowerCase().replace("_", "-").indexOf(prefix) === 0 && v.default; });
    return exact || voices.find(function (v) { return v.lang.toLowerCase().replace("_", "-").indexOf(prefix) === 0; }) || null;
  }

  function texts(call) {
    const ja = "受付番号 " + call.prefix + " の " + call.number + " 番の方、" + call.counter + " 番窓口へお越しください";
    const en = "Ticket number " + call.prefix + " " + call.number + ", please come to counter " + call.counter + ".";
    return { ja: ja, en: en };
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

  function speak(text, voice) {
    return new Promise(function (resolve) {
      const u = new SpeechSynthesisUtterance(text);
      u.voice = voice;
      u.lang = voice.lang;
      u.rate = 0.9;
      let done = false;
      function finish(r) { if (!done) { done = true; log.push({ kind: "speech", lang: voice.lang, text: text, result: r }); resolve(); } }
      u.onend = function () { finish("spoken"); };
      u.onerror = function (e) { finish("error:" + (e && e.error)); };
      window.speechSynthesis.speak(u);
      setTimeout(function () { finish("timeout"); }, 15000);
    });
  }

  function announceOne(call) {
    const t = texts(call);
    return playChime().then(function () {
      const ja = localVoice("ja");
      const en = localVoice("en");
      if (!ja && !en) { log.push({ kind: "speech", result: "no-offline-voice", text: t.ja }); return null; }
      return (ja ? speak(t.ja, ja) : Promise.resolve()).then(function () {
        return en ? speak(t.en, en) : null;
      });
    });
  }

  function pump() {
    if (busy || !queue.length) return;
    busy = true;
    const call = queue.shift();
    log.push({ kind: "call", prefix: call.prefix, number: call.number, counter: call.counter });
    announceOne(call).then(function () { busy = false; pump(); }, function () { busy = false; pump(); });
  }

  // Voices load asynchronously in Chromium; asking once early fills the list.
  if ("speechSynthesis" in window) { window.speechSynthesis.getVoices(); }
  document.addEventListener("click", function () {
    // The first touch unlocks audio where autoplay is not allowed.
    const a = chimeEl();
    a.muted = true;
    const p = a.play();
    if (p && p.then) p.then(function () { a.pause(); a.muted = false; }, function () { a.muted = false; });
    const hint = document.getElementById("sound-hint");
    if (hint) hint.hidden = true;
  }, { once: true });

  window.Announcer = {
    log: log,
    texts: texts,
    announce: function (call) { queue.push(call); pump(); }
  };
})();
