// Message state the page owns (loaded before app.js, whose state, api and render it uses once the page runs): the
// visitor's messages not yet handed to the gateway, and the chat markers that tell the owner a reply was shown.
'use strict';

// Messages this tab is handing to the gateway, by client id: shown as "sending" at once, and as "not sent" with a
// Retry button when the POST did not get through (network error, 5xx, 429). A retry names the same client id, and the
// gateway stores a message once per client id, so a POST whose answer was lost is never stored twice.
const unsent = new Map();

function newClientId() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function sendUnsent(entry) {
  unsent.set(entry.clientId, entry);
  showUnsent(entry, false);
  try {
    render(await api(`/api/conversations/${state.conversation}/messages`, { method: 'POST', body: { text: entry.text, clientId: entry.clientId } }));
    setStatus('');
  } catch (error) {
    if (unsent.get(entry.clientId) !== entry) { return; } // the push stream brought it meanwhile: it was stored
    if (!error.status || error.status >= 500 || error.status === 429) { showUnsent(entry, true); setStatus(error.message); return; }
    // Refused for good (too long, closed): a retry cannot help; the text goes back into the composer.
    settleUnsent(entry.clientId);
    if (isClosed(error)) { showClosed(); return; }
    if (!$('text').value) { $('text').value = entry.text; }
    setStatus(error.message);
  }
}

function showUnsent(entry, failed) {
  if (!entry.item) {
    entry.item = document.createElement('li');
    const text = document.createElement('span');
    text.className = 'text';
    renderText(text, entry.text);
    const meta = document.createElement('span');
    meta.className = 'meta';
    meta.textContent = texts.t('message.you');
    const retry = document.createElement('button');
    retry.type = 'button';
    retry.className = 'retry';
    retry.textContent = texts.t('message.retry');
    retry.addEventListener('click', () => sendUnsent(entry));
    entry.item.append(text, meta, retry);
    $('messages').append(entry.item);
    $('messages').scrollTop = $('messages').scrollHeight;
  }
  entry.item.className = 'visitor unsent ' + (failed ? 'failed' : 'pending');
  entry.item.querySelector('.meta').dataset.state = texts.t(failed ? 'state.failed' : 'state.pending');
  entry.item.querySelector('.retry').hidden = !failed;
}

// The gateway has the message (its answer or the push stream said so): the stored copy replaces this tab's own.
function settleUnsent(clientId) {
  const entry = clientId && unsent.get(clientId);
  if (!entry) { return; }
  unsent.delete(clientId);
  if (entry.item) { entry.item.remove(); }
}

// Chat markers back to the owner (XEP-0333): once this tab has shown replies while the page is visible, the gateway
// is told the newest one; it marks them seen and sends the owner's client one "displayed" for it.
const displayed = { upTo: 0, scheduled: false };

function scheduleDisplayed() {
  if (displayed.scheduled) { return; }
  displayed.scheduled = true;
  // After the next frame: the reply has been laid out and painted (frames stop while the page is hidden).
  requestAnimationFrame(() => setTimeout(reportDisplayed, 0));
}

function reportDisplayed() {
  displayed.scheduled = false;
  if (document.visibilityState !== 'visible' || !state.conversation || !state.events) { return; }
  let newest = 0;
  for (const [id, item] of state.items) {
    if (id > newest && item.classList.contains('owner') && !item.classList.contains('auto') && !item.classList.contains('seen')) { newest = id; }
  }
  if (newest <= displayed.upTo) { return; }
  displayed.upTo = newest;
  api(`/api/conversations/${state.conversation}/displayed`, { method: 'POST', body: { id: newest } }).catch(() => { displayed.upTo = 0; });
}

document.addEventListener('visibilitychange', scheduleDisplayed);
