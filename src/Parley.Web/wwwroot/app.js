// The chat page. Message text only ever reaches the page as text nodes (textContent, append of strings); links are
// elements built with createElement. Nothing is ever parsed as HTML.
'use strict';

const $ = (id) => document.getElementById(id);
const state = { csrf: null, ownerName: null, conversation: null, events: null, items: new Map(), oldest: null, lastSeq: 0, hasMore: false, loadingOlder: false, endedAfter: 0, away: null };
const t = texts.t;
// The page the widget was opened on (widget.js passes it in the fragment, which never reaches a server log).
const openedOn = new URLSearchParams(location.hash.slice(1)).get('page');
// Typing notifications (XEP-0085) both ways: what this page last told the owner, and the owner's indicator.
const typing = { sent: 'active', lastComposing: 0, idle: null, ownerTimer: null };
const COMPOSING_REPEAT_MS = 4000;
const PAUSED_AFTER_MS = 5000;
const OWNER_TYPING_MAX_MS = 60000;

function setStatus(text) { $('status').textContent = text || ''; }

async function api(path, options = {}) {
  const headers = { Accept: 'application/json', ...(options.headers || {}) };
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    headers['X-CSRF-TOKEN'] = state.csrf;
  }
  const response = await fetch(path, { credentials: 'same-origin', ...options, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  if (response.status === 401) { await boot(); throw new Error(t('status.signedOut')); }
  if (response.status === 429) { throw Object.assign(new Error(t('status.tooMany')), { status: 429 }); }
  if (!response.ok) {
    const error = new Error(t('status.failed', { status: response.status }));
    error.status = response.status;
    error.problem = await response.json().catch(() => null);
    throw error;
  }
  return response.status === 204 ? null : response.json();
}

// http and https URLs, up to whitespace, quotes or angle brackets; anything else (javascript:, data:) stays text.
const URL_PATTERN = /\bhttps?:\/\/[^\s<>"'`]+/gi;

function trimUrl(candidate) {
  // Trailing punctuation ends the sentence, not the URL; a closing bracket only belongs to it when it has an opener.
  let url = candidate;
  for (;;) {
    const last = url[url.length - 1];
    if ('.,;:!?*'.includes(last)) { url = url.slice(0, -1); continue; }
    const pairs = { ')': '(', ']': '[', '}': '{' };
    if (pairs[last] && url.split(pairs[last]).length < url.split(last).length) { url = url.slice(0, -1); continue; }
    return url;
  }
}

// A word longer than the bubble is wrapped inside itself. Where the font kerns two neighbouring letters (AA, VA, as
// in the runs of A that base64 makes of zero bytes) no position in the run is safe to break at, and Chromium shapes
// the rest of the run again for every line: 99,000 letters take 10-15 s whatever overflow-wrap or word-break say,
// while without kerning and ligatures (class "unbroken", app.css) they take tens of milliseconds.
const UNBROKEN_RUN = /\S{200}/;

// A message longer than this shows its first PREVIEW_CHARS and a button for the rest, so a load of the page lays out
// a bounded amount of text however the message's script shapes (joined scripts such as Arabic are slow to break too).
const LONG_TEXT_CHARS = 5000;
const PREVIEW_CHARS = 2000;

// Where the preview ends: at a space or line break near the limit if there is one, never inside a surrogate pair.
function previewEnd(text) {
  const space = Math.max(text.lastIndexOf(' ', PREVIEW_CHARS), text.lastIndexOf('\n', PREVIEW_CHARS));
  if (space > PREVIEW_CHARS - 200) { return space; }
  const code = text.charCodeAt(PREVIEW_CHARS - 1);
  return code >= 0xd800 && code <= 0xdbff ? PREVIEW_CHARS - 1 : PREVIEW_CHARS;
}

function renderText(node, text) {
  node.replaceChildren();
  node.classList.toggle('unbroken', UNBROKEN_RUN.test(text));
  const end = text.length <= LONG_TEXT_CHARS || node.dataset.whole ? text.length : previewEnd(text);
  let at = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const raw = trimUrl(match[0]);
    // A link the preview would cut stays text until the whole message is shown.
    if (match.index + raw.length > end) { break; }
    let url;
    try { url = new URL(raw); } catch { continue; }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') { continue; }
    node.append(text.slice(at, match.index));
    const link = document.createElement('a');
    link.href = url.href;
    link.rel = 'noopener noreferrer nofollow';
    link.target = '_blank';
    link.textContent = raw;
    node.append(link);
    at = match.index + raw.length;
  }
  node.append(text.slice(at, end));
  if (end < text.length) {
    const more = document.createElement('button');
    more.type = 'button';
    more.className = 'show-all';
    more.textContent = t('message.showAll', { count: text.length.toLocaleString(texts.language) });
    more.addEventListener('click', () => {
      node.dataset.whole = '1';
      renderText(node, text);
    });
    node.append('…', more);
  }
}

function formatSize(bytes) {
  if (bytes < 1024) { return bytes + ' B'; }
  if (bytes < 1024 * 1024) { return (bytes / 1024).toFixed(1) + ' KB'; }
  return (bytes / 1024 / 1024).toFixed(1) + ' MB';
}

// A file: a download link whose text is the file's name (never markup); only http(s) addresses become links.
function renderFile(node, file) {
  node.replaceChildren();
  let url;
  try { url = new URL(file.url, location.href); } catch { url = null; }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) { node.append(file.name); return; }
  const link = document.createElement('a');
  link.className = 'file';
  link.href = url.href;
  link.rel = 'noopener noreferrer nofollow';
  link.target = '_blank';
  link.download = file.name;
  link.textContent = file.name;
  node.append(link);
  if (typeof file.size === 'number') {
    const size = document.createElement('span');
    size.className = 'size';
    size.textContent = ' (' + formatSize(file.size) + ')';
    node.append(size);
  }
}

function formatTime(iso) {
  const date = new Date(iso);
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : date.toLocaleString([], { dateStyle: 'short', timeStyle: 'short' });
}

function render(message) {
  settleUnsent(message.clientId);
  if (message.from === 'owner') { scheduleDisplayed(); }
  let item = state.items.get(message.id);
  if (!item) {
    if ((state.oldest !== null && message.id < state.oldest) || message.id <= state.endedAfter) { return; }
    item = document.createElement('li');
    if (message.auto) {
      const label = document.createElement('span');
      label.className = 'auto-label';
      label.textContent = t('message.auto');
      item.append(label);
    }
    const text = document.createElement('span');
    text.className = 'text';
    const meta = document.createElement('time');
    meta.className = 'meta';
    item.append(text, meta);
    state.items.set(message.id, item);
    const list = $('messages');
    const stick = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    const next = [...state.items.keys()].filter((id) => id > message.id).sort((a, b) => a - b)[0];
    // Messages this tab could not hand over yet stay last.
    list.insertBefore(item, next === undefined ? list.querySelector('li.unsent') : state.items.get(next));
    if (stick || message.from === 'visitor') { list.scrollTop = list.scrollHeight; }
  }
  // The POST answer (pending) can arrive after the push that already said "sent": never go back to an older version.
  if (Number(item.dataset.seq || 0) > message.seq) { return; }
  item.dataset.seq = String(message.seq);
  item.className = message.from + ' ' + message.state + (message.auto ? ' auto' : '');
  item.dataset.id = String(message.id);
  const textNode = item.querySelector('.text');
  if (message.file) {
    renderFile(textNode, message.file);
    // An owner's file link may come with words ("here is the invoice"): keep them above the file.
    if (message.text.trim() !== message.file.url) {
      const words = document.createElement('span');
      renderText(words, message.text);
      textNode.prepend(words, document.createElement('br'));
    }
  } else {
    renderText(textNode, message.text);
  }
  const meta = item.querySelector('.meta');
  meta.dateTime = message.time;
  meta.textContent = (message.from === 'owner' ? '' : t('message.you') + ' · ') + formatTime(message.time) + (message.auto ? ' · ' + t('message.sentAutomatically') : '');
  // The state follows the time (app.css puts it there), in the page's language.
  if (message.from === 'visitor') { meta.dataset.state = t('state.' + message.state); }
  if (state.oldest === null || message.id < state.oldest) { state.oldest = message.id; }
  if (message.seq > state.lastSeq) { state.lastSeq = message.seq; }
}

function showOwnerTyping(ownerState) {
  clearTimeout(typing.ownerTimer);
  const composing = ownerState === 'composing';
  if (composing) { $('typing').textContent = state.ownerName ? t('chat.typingNamed', { name: state.ownerName }) : t('chat.typing'); }
  $('typing').hidden = !composing;
  // A client that crashed mid-sentence never says "paused": do not show "typing" forever.
  if (composing) { typing.ownerTimer = setTimeout(() => { $('typing').hidden = true; }, OWNER_TYPING_MAX_MS); }
}

function sendTyping(value) {
  typing.sent = value;
  if (value === 'composing') { typing.lastComposing = Date.now(); }
  api(`/api/conversations/${state.conversation}/typing`, { method: 'POST', body: { state: value } }).catch(() => {});
}

function onComposerInput() {
  clearTimeout(typing.idle);
  if (!$('text').value.trim()) {
    if (typing.sent === 'composing') { sendTyping('paused'); }
    return;
  }
  if (typing.sent !== 'composing' || Date.now() - typing.lastComposing > COMPOSING_REPEAT_MS) { sendTyping('composing'); }
  typing.idle = setTimeout(() => { if (typing.sent === 'composing') { sendTyping('paused'); } }, PAUSED_AFTER_MS);
}

function showPresence(owner) {
  state.presence = owner;
  const badge = $('owner-presence');
  badge.className = 'presence ' + owner;
  const shown = ['online', 'away'].includes(owner) ? owner : 'offline';
  badge.textContent = state.ownerName ? t(`presence.${shown}Named`, { name: state.ownerName }) : t(`presence.${shown}`);
  $('offline-note').textContent = state.away || t('chat.offline');
  $('offline-note').hidden = owner !== 'offline';
}

// Who the visitor talks to, from the owner's profile (or the configuration): name (in the presence wording), avatar, status text.
function showProfile(profile) {
  state.ownerName = profile.name || null;
  const avatar = $('owner-avatar');
  if (profile.avatar) {
    avatar.src = profile.avatar;
    avatar.alt = profile.name ? t('owner.pictureNamed', { name: profile.name }) : t('owner.picture');
  } else {
    avatar.removeAttribute('src');
  }
  avatar.hidden = !profile.avatar;
  $('owner-status').textContent = profile.status ? t('owner.status', { status: profile.status }) : '';
  $('owner-status').hidden = !profile.status;
  showPresence(state.presence || 'offline');
}

// The owner blocked this visitor: nothing more can be sent, and the page stops listening.
function showClosed() {
  if (state.events) { state.events.close(); state.events = null; }
  $('closed-note').hidden = false;
  $('ended-note').hidden = true;
  $('composer').hidden = true;
  $('offline-note').hidden = true;
  $('owner-presence').hidden = true;
  showOwnerTyping('active');
}

// The owner ended the conversation: what came before goes; the visitor may write again to start a new one.
function showEnded(endedAfter) {
  if (endedAfter <= state.endedAfter) { return; }
  state.endedAfter = endedAfter;
  for (const [id, item] of state.items) {
    if (id <= endedAfter) { item.remove(); state.items.delete(id); }
  }
  state.oldest = state.items.size ? Math.min(...state.items.keys()) : null;
  state.hasMore = false;
  $('ended-note').hidden = state.items.size > 0;
}

async function loadOlder() {
  if (!state.hasMore || state.loadingOlder) { return; }
  state.loadingOlder = true;
  try {
    const list = $('messages');
    const height = list.scrollHeight;
    const page = await api(`/api/conversations/${state.conversation}/messages?before=${state.oldest}&limit=50`);
    state.hasMore = page.hasMore;
    const oldest = state.oldest;
    state.oldest = null;
    for (const message of page.messages) { render(message); }
    if (state.oldest === null) { state.oldest = oldest; }
    list.scrollTop += list.scrollHeight - height;
  } catch (error) { setStatus(error.message); } finally { state.loadingOlder = false; }
}

function connect() {
  if (state.events) { state.events.close(); }
  const page = openedOn ? '&page=' + encodeURIComponent(openedOn) : '';
  const events = new EventSource(`/api/conversations/${state.conversation}/events?after=${state.lastSeq}${page}`);
  state.events = events;
  events.addEventListener('message', (event) => {
    const message = JSON.parse(event.data);
    if (message.from === 'owner' && !message.auto) { showOwnerTyping('active'); }
    if (message.from === 'owner' && !state.items.has(message.id)) { attention.reply(t('attention.newReply'), message.text); }
    render(message);
  });
  events.addEventListener('typing', (event) => { showOwnerTyping(JSON.parse(event.data).owner); });
  events.addEventListener('presence', (event) => { showPresence(JSON.parse(event.data).owner); });
  events.addEventListener('profile', (event) => { showProfile(JSON.parse(event.data)); });
  events.addEventListener('closed', showClosed);
  events.addEventListener('conversation', (event) => { showEnded(JSON.parse(event.data).endedAfter); });
  events.addEventListener('open', () => setStatus(''));
  events.addEventListener('error', () => {
    if (events.readyState === EventSource.CLOSED) {
      // Refused (signed out elsewhere, too many tabs): check the session, then start over with what we have.
      setStatus(t('status.reconnecting'));
      setTimeout(() => { if (state.events === events) { boot(); } }, 3000);
    } else {
      setStatus(t('status.reconnecting'));
    }
  });
}

async function openChat(session) {
  $('signin').hidden = true;
  $('chat').hidden = false;
  $('me').textContent = t('chat.me', { name: session.name });
  state.away = session.away || null;
  $('closed-note').hidden = true;
  $('composer').hidden = false;
  $('owner-presence').hidden = false;
  if (state.conversation !== session.conversation) {
    state.conversation = session.conversation;
    state.items.clear();
    state.oldest = null;
    state.lastSeq = 0;
    state.endedAfter = 0;
    $('messages').replaceChildren();
    const page = await api(`/api/conversations/${state.conversation}/messages?limit=50`);
    state.hasMore = page.hasMore;
    for (const message of page.messages) { render(message); }
    $('messages').scrollTop = $('messages').scrollHeight;
  }
  if (session.closed) { showClosed(); return; }
  showEnded(session.endedAfter || 0);
  connect();
  $('text').focus();
}

function showSignIn(session) {
  if (state.events) { state.events.close(); state.events = null; }
  attention.clear();
  state.conversation = null;
  state.items.clear();
  $('messages').replaceChildren();
  showOwnerTyping('active');
  $('chat').hidden = true;
  $('signin').hidden = false;
  $('guest-form').hidden = !session.guests;
  $('guests-off').hidden = session.guests;
}

async function boot() {
  try {
    await texts.load();
    const response = await fetch('/api/session', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    const session = await response.json();
    state.csrf = session.csrf;
    state.ownerName = session.ownerName || null;
    if (await signInFromSite()) {
      await boot();
      return;
    }
    if (session.signedIn) { await openChat(session); } else { showSignIn(session); }
  } catch (error) { setStatus(t('status.unreachable')); setTimeout(boot, 5000); }
}

$('guest-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    await api('/api/guest', { method: 'POST', body: { name: $('guest-name').value } });
    setStatus('');
    await boot();
  } catch (error) { setStatus(isClosed(error) ? t('status.guestsClosed') : error.message); }
});

$('composer').addEventListener('submit', async (event) => {
  event.preventDefault();
  const box = $('text');
  const text = box.value.trim();
  if (!text) { return; }
  // The message itself carries "active" to the owner.
  clearTimeout(typing.idle);
  typing.sent = 'active';
  box.value = '';
  $('ended-note').hidden = true;
  await sendUnsent({ clientId: newClientId(), text, item: null });
});

$('text').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $('composer').requestSubmit();
  }
});

$('text').addEventListener('input', onComposerInput);

$('attach').addEventListener('click', () => $('file').click());

$('file').addEventListener('change', async () => {
  const file = $('file').files[0];
  $('file').value = '';
  if (!file) { return; }
  setStatus(t('status.sendingFile', { name: file.name }));
  try {
    // The raw bytes; the server decides nothing from their type and serves them back only as a download.
    const response = await fetch(`/api/conversations/${state.conversation}/files`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { Accept: 'application/json', 'Content-Type': 'application/octet-stream', 'X-CSRF-TOKEN': state.csrf, 'X-File-Name': encodeURIComponent(file.name) },
      body: file,
    });
    if (response.status === 413) { throw new Error(t('status.fileTooLarge')); }
    if (response.status === 429) { throw new Error(t('status.tooMany')); }
    if (!response.ok) { throw new Error(t('status.fileFailed', { status: response.status })); }
    render(await response.json());
    setStatus('');
  } catch (error) { setStatus(error.message); }
});

function isClosed(error) { return error.status === 403 && error.problem && error.problem.title === 'This conversation is closed.'; }

$('new-conversation').addEventListener('click', () => {
  $('ended-note').hidden = true;
  $('text').focus();
});

attention.start();

$('messages').addEventListener('scroll', () => { if ($('messages').scrollTop < 60) { loadOlder(); } });

$('signout').addEventListener('click', async () => {
  try { await api('/api/signout', { method: 'POST', body: {} }); } catch (error) { setStatus(error.message); }
  await boot();
});

boot();
