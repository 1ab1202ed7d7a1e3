// Getting the visitor's attention for a reply that arrives while they look elsewhere: an unread count in the tab's
// title (in the widget, on the host page's chat bubble and title too), and, only when the visitor switched them on, a
// short sound and a browser notification. Nothing is asked of the browser on load: the notification permission prompt
// comes only from the visitor pressing the button. Looking at the page again clears all of it.
'use strict';

const attention = (() => {
  const SETTINGS_KEY = 'parley.attention';
  const PREVIEW_CHARS = 120;
  const baseTitle = document.title;
  const inFrame = window.parent !== window;
  const shown = [];
  let unread = 0;
  // In the widget the host page has the focus until the visitor clicks into the chat.
  let blurred = !document.hasFocus();
  let audio = null;

  function load() {
    try {
      const saved = JSON.parse(localStorage.getItem(SETTINGS_KEY) || '{}');
      return { sound: saved.sound === true, notify: saved.notify === true };
    } catch { return { sound: false, notify: false }; }
  }

  const settings = load();

  function save() {
    try { localStorage.setItem(SETTINGS_KEY, JSON.stringify(settings)); } catch { /* storage off: the choice lasts as long as the page */ }
  }

  function away() { return document.visibilityState === 'hidden' || blurred; }

  function showCount() {
    document.title = unread > 0 ? `(${unread}) ${baseTitle}` : baseTitle;
    // Only a number and its words leave the frame; widget.js accepts them only from the chat's origin.
    if (inFrame) { window.parent.postMessage({ type: 'parley:unread', count: unread, text: texts.t('widget.unread', { count: unread }) }, '*'); }
  }

  function clear() {
    for (const notification of shown.splice(0)) { notification.close(); }
    if (unread > 0) {
      unread = 0;
      showCount();
    }
  }

  function beep() {
    try {
      audio = audio || new AudioContext();
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.setValueAtTime(0.15, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.25);
      tone.connect(gain).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.25);
    } catch { /* no audio device: the count still shows */ }
  }

  function notify(title, text) {
    if (!settings.notify || typeof Notification === 'undefined' || Notification.permission !== 'granted') { return; }
    try {
      const notification = new Notification(title, { body: text.length > PREVIEW_CHARS ? text.slice(0, PREVIEW_CHARS) + '…' : text, tag: 'parley-reply' });
      notification.onclick = () => { window.focus(); notification.close(); };
      shown.push(notification);
    } catch { /* browsers that notify only through a service worker (Chrome on Android): the count and sound remain */ }
  }

  function showSettings() {
    $('sound-toggle').setAttribute('aria-pressed', String(settings.sound));
    $('notify-toggle').setAttribute('aria-pressed', String(settings.notify));
  }

  async function toggleNotify() {
    if (settings.notify) {
      settings.notify = false;
    } else if (typeof Notification === 'undefined') {
      setStatus(texts.t('attention.unsupported'));
    } else if (Notification.permission === 'denied') {
      setStatus(texts.t('attention.blocked'));
    } else {
      settings.notify = (Notification.permission === 'granted' || await Notification.requestPermission() === 'granted');
      if (!settings.notify) { setStatus(texts.t('attention.refused')); }
    }
    save();
    showSettings();
  }

  function start() {
    showSettings();
    $('sound-toggle').addEventListener('click', () => {
      settings.sound = !settings.sound;
      save();
      showSettings();
      if (settings.sound) { beep(); }
    });
    $('notify-toggle').addEventListener('click', toggleNotify);
    document.addEventListener('visibilitychange', () => { if (!away()) { clear(); } });
    window.addEventListener('focus', () => { blurred = false; clear(); });
    window.addEventListener('blur', () => { blurred = true; });
  }

  return {
    start,
    clear,
    /** A reply that arrived live (not one loaded from the history): counted, and announced as the visitor chose. */
    reply(from, text) {
      if (!away()) { return; }
      unread += 1;
      showCount();
      if (settings.sound) { beep(); }
      notify(from, text);
    },
  };
})();
