// The page's words. Each language is one resource, texts-<language>.json, all with the same keys; the page speaks the
// first of the browser's languages that has one, else English, whose table also fills any key a translation lacks.
// Elements name their key in data-t (their text), data-t-title, data-t-placeholder or data-t-aria-label; scripts ask
// texts.t(key, { name: … }). Values only ever reach the page as text (textContent and attributes), never as markup.
'use strict';

const texts = (() => {
  const LANGUAGES = ['en', 'de'];
  const FALLBACK = 'en';
  const ATTRIBUTES = ['title', 'placeholder', 'aria-label'];
  let table = null;
  let loading = null;

  function choose(preferred) {
    for (const tag of preferred) {
      const primary = String(tag).toLowerCase().split('-')[0];
      if (LANGUAGES.includes(primary)) { return primary; }
    }
    return FALLBACK;
  }

  const language = choose(navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || FALLBACK]);

  async function fetchTable(name) {
    const response = await fetch(`/texts-${name}.json`, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (!response.ok) { throw new Error(`texts-${name}.json: ${response.status}`); }
    return response.json();
  }

  // "{name}" in a text is replaced by values.name; a placeholder without a value stays as it is.
  function t(key, values) {
    const text = table && typeof table[key] === 'string' ? table[key] : key;
    return values ? text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole)) : text;
  }

  function apply(root) {
    for (const node of root.querySelectorAll('[data-t]')) { node.textContent = t(node.dataset.t); }
    for (const attribute of ATTRIBUTES) {
      for (const node of root.querySelectorAll(`[data-t-${attribute}]`)) { node.setAttribute(attribute, t(node.getAttribute(`data-t-${attribute}`))); }
    }
  }

  // Loads the tables once (a failed load is tried again on the next call) and translates the page.
  function load() {
    loading = loading || Promise.all([fetchTable(FALLBACK), language === FALLBACK ? {} : fetchTable(language)])
      .then(([fallback, chosen]) => {
        table = { ...fallback, ...chosen };
        document.documentElement.lang = language;
        apply(document);
      })
      .catch((error) => { loading = null; throw error; });
    return loading;
  }

  return { language, load, t };
})();
