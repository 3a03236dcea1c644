/* WCAG contrast of every visible text element against the background actually painted
   behind it (alpha-blended up the ancestor chain). Used by test_pages_browser.py. */
() => {
  function parse(c) {
    const m = /rgba?\(([^)]+)\)/.exec(c || "");
    if (!m) return null;
    const p = m[1].split(",").map(parseFloat);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  }
  function blend(top, under) {
    return { r: top.r * top.a + under.r * (1 - top.a), g: top.g * top.a + under.g * (1 - top.a),
             b: top.b * top.a + under.b * (1 - top.a), a: 1 };
  }
  function lum(c) {
    const f = function (v) {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  }
  function background(el) {
    const layers = [];
    for (let n = el; n; n = n.parentElement) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    let out = { r: 255, g: 255, b: 255, a: 1 };
    for (let i = layers.length - 1; i >= 0; i--) out = blend(layers[i], out);
    return out;
  }
  const out = [];
  document.querySelectorAll("body *").forEach(function (el) {
    const own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.getClientRects().length) return;
    const cs = getComputedStyle(el);
    if (cs.visibility === "hidden" || el.closest("[hidden]") || el.closest(".visually-hidden")) return;
    const bg = background(el);
    const fg = blend(parse(cs.color), bg);
    const l1 = lum(fg), l2 = lum(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(cs.fontSize), bold = parseInt(cs.fontWeight, 10) >= 700;
    out.push({ text: el.textContent.trim().slice(0, 40), ratio: Math.round(ratio * 100) / 100,
               large: size >= 24 || (size >= 18.66 && bold), disabled: !!el.closest(":disabled") });
  });
  return out;
}
