/**
 * The review page's script (plain browser JavaScript, shipped inline). Keys: a approve, r reject, c recategorize
 * (category picker), n note, s skip; ignored while typing in a field. Every value from a record goes into the page
 * through textContent or an attribute, never as HTML.
 */
export const REVIEW_SCRIPT = String.raw`
(function () {
  'use strict';
  var CATEGORIES = JSON.parse(document.getElementById('categories').textContent);
  var STORAGE_KEY = 'media-triage.reviewer';
  var ADJUDICATOR_KEY = 'media-triage.adjudicator';
  var state = { reviewer: null, item: null, busy: false };

  function $(id) { return document.getElementById(id); }
  function el(tag, className, children) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    (children || []).forEach(function (child) { node.append(child instanceof Node ? child : document.createTextNode(String(child))); });
    return node;
  }
  function setText(id, value) { $(id).textContent = value === undefined || value === null || value === '' ? '—' : String(value); }
  function status(message, isError) {
    var box = $('status');
    box.textContent = message || '';
    box.className = isError ? 'status error' : 'status';
  }
  function show(id) { ['signin', 'empty', 'case'].forEach(function (other) { $(other).hidden = other !== id; }); }

  function api(method, path, body) {
    var init = { method: method, headers: { accept: 'application/json' } };
    if (body !== undefined) { init.headers['content-type'] = 'application/json'; init.body = JSON.stringify(body); }
    return fetch(path, init).then(function (response) {
      return response.json().then(function (json) {
        if (!response.ok) { var error = new Error(json.error || ('HTTP ' + response.status)); error.code = json.code; throw error; }
        return json;
      });
    });
  }

  function percent(score) { return (Math.round(score * 1000) / 10).toFixed(1) + '%'; }
  function bar(container, label, score, options) {
    var fill = el('div', 'fill' + (options && options.tone ? ' ' + options.tone : ''));
    fill.style.width = Math.max(0, Math.min(1, score)) * 100 + '%';
    var track = el('div', 'bar', [fill]);
    track.setAttribute('role', 'meter');
    track.setAttribute('aria-valuemin', '0');
    track.setAttribute('aria-valuemax', '1');
    track.setAttribute('aria-valuenow', String(score));
    track.setAttribute('aria-label', label);
    if (options && options.threshold !== undefined) {
      var mark = el('div', 'mark');
      mark.style.left = Math.max(0, Math.min(1, options.threshold)) * 100 + '%';
      mark.title = 'threshold ' + percent(options.threshold);
      track.append(mark);
    }
    container.append(el('span', '', [label]), track, el('span', 'num', [percent(score)]));
  }

  function render(item) {
    state.item = item;
    show('case');
    $('case').dataset.assetKey = item.assetKey;
    $('case').dataset.batchId = item.batchId;
    var image = $('image');
    image.removeAttribute('src');
    if (item.image.url) image.src = item.image.url;
    image.alt = 'image of ' + (item.listing.title || item.assetKey);
    setText('image-facts', [item.image.format, item.image.width && item.image.height ? item.image.width + '×' + item.image.height : ''].filter(Boolean).join(' · '));
    setText('asset-title', item.listing.title || item.assetKey);
    $('outcome').textContent = item.outcome;
    $('outcome').className = 'badge ' + item.outcome;
    $('role').hidden = !item.claim.adjudication;
    var declared = item.declared.name || item.declared.asGiven;
    setText('declared', declared && item.declared.asGiven && item.declared.asGiven !== declared ? declared + ' (given as "' + item.declared.asGiven + '")' : declared);
    setText('description', item.listing.description);
    setText('price', item.listing.price === undefined ? '' : item.listing.price + (item.listing.currency ? ' ' + item.listing.currency : ''));
    setText('merchant', item.merchantId);
    setText('asset', (item.assetId ? item.assetId + ' · ' : '') + item.assetKey + ' · batch ' + item.batchId);
    var reasons = $('reasons');
    reasons.replaceChildren();
    item.reasons.forEach(function (reason) { reasons.append(el('li', '', [el('code', '', [reason.code]), ' ', reason.meaning])); });
    if (item.reasons.length === 0) reasons.append(el('li', 'muted', ['none (sampled for an audit)']));
    setText('explanation', item.explanation);
    var predicted = $('predicted');
    predicted.replaceChildren();
    item.predicted.forEach(function (p) { bar(predicted, p.name, p.score); });
    if (item.predicted.length === 0) predicted.append(el('span', 'muted', ['no category scores']));
    var policy = $('policy');
    policy.replaceChildren();
    item.policy.forEach(function (p) { bar(policy, p.classId, p.score, { threshold: p.threshold, tone: p.sensitive ? 'hot' : p.borderline ? 'warm' : '' }); });
    if (item.policy.length === 0) policy.append(el('span', 'muted', ['no policy scores']));
    $('note').value = '';
    setText('claim-until', new Date(item.claim.expiresAt).toLocaleTimeString());
  }

  function loadStats() {
    if (!state.reviewer) return Promise.resolve();
    return api('GET', '/api/stats?reviewer=' + encodeURIComponent(state.reviewer)).then(function (stats) {
      setText('stat-decisions', stats.decisions);
      setText('stat-median', stats.medianTimeToLabelMs === null ? '' : (stats.medianTimeToLabelMs / 1000).toFixed(1) + ' s');
      setText('stat-gold', stats.goldAccuracy === null ? '' : percent(stats.goldAccuracy));
      setText('stat-pending', stats.pending);
    }).catch(function (error) { status('stats: ' + error.message, true); });
  }

  function loadNext() {
    if (!state.reviewer) { show('signin'); return Promise.resolve(); }
    state.busy = true;
    var adjudicator = $('adjudicator').checked ? '1' : '0';
    return api('GET', '/api/next?reviewer=' + encodeURIComponent(state.reviewer) + '&adjudicator=' + adjudicator)
      .then(function (result) {
        if (result.item) render(result.item);
        else { state.item = null; delete $('case').dataset.assetKey; show('empty'); }
      })
      .catch(function (error) { status(error.message, true); })
      .then(function () { state.busy = false; return loadStats(); });
  }

  function decide(label) {
    var item = state.item;
    if (!item || state.busy) return;
    state.busy = true;
    var note = $('note').value.trim();
    api('POST', '/api/decide', { reviewer: state.reviewer, batchId: item.batchId, assetKey: item.assetKey, label: label, note: note || undefined })
      .then(function (result) { status('Recorded ' + result.recorded.label + ' for ' + (item.assetId || item.assetKey) + '.'); })
      .catch(function (error) { status(error.message, true); })
      .then(function () { state.busy = false; return loadNext(); });
  }

  function skip() {
    var item = state.item;
    if (!item || state.busy) return;
    state.busy = true;
    api('POST', '/api/release', { reviewer: state.reviewer, batchId: item.batchId, assetKey: item.assetKey, skip: true })
      .then(function () { status('Skipped ' + (item.assetId || item.assetKey) + '; it goes back to the queue.'); })
      .catch(function (error) { status(error.message, true); })
      .then(function () { state.busy = false; return loadNext(); });
  }

  // The category picker: type to filter, arrows to move, Enter to choose, Escape to cancel.
  function fillPicker(filter) {
    var list = $('picker-list');
    var wanted = filter.trim().toLowerCase();
    list.replaceChildren();
    CATEGORIES.filter(function (c) { return wanted === '' || c.name.toLowerCase().indexOf(wanted) >= 0 || c.id.toLowerCase().indexOf(wanted) >= 0; })
      .forEach(function (c) {
        var option = el('option', '', [c.name + ' (' + c.id + ')']);
        option.value = c.id;
        list.append(option);
      });
    if (list.options.length > 0) list.selectedIndex = 0;
  }
  function openPicker() {
    if (!state.item || state.busy) return;
    $('picker-filter').value = '';
    fillPicker('');
    $('picker').showModal();
    $('picker-filter').focus();
  }
  function choosePicked() {
    var value = $('picker-list').value;
    $('picker').close();
    if (value) decide('recategorize:' + value);
  }
  $('picker-filter').addEventListener('input', function (event) { fillPicker(event.target.value); });
  $('picker-filter').addEventListener('keydown', function (event) {
    var list = $('picker-list');
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      var next = list.selectedIndex + (event.key === 'ArrowDown' ? 1 : -1);
      if (next >= 0 && next < list.options.length) list.selectedIndex = next;
    }
  });
  $('picker-list').addEventListener('dblclick', choosePicked);
  $('picker-form').addEventListener('submit', function (event) { event.preventDefault(); choosePicked(); });
  $('picker-cancel').addEventListener('click', function () { $('picker').close(); });

  document.addEventListener('keydown', function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    var typing = target && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.tagName === 'SELECT');
    if (typing || $('picker').open) {
      if (event.key === 'Escape' && target && target.blur && !$('picker').open) target.blur();
      return;
    }
    if (!state.item) return;
    var actions = { a: function () { decide('approve'); }, r: function () { decide('reject'); }, c: openPicker, n: function () { $('note').focus(); }, s: skip };
    var action = actions[event.key];
    if (action) { event.preventDefault(); action(); }
  });
  $('approve').addEventListener('click', function () { decide('approve'); });
  $('reject').addEventListener('click', function () { decide('reject'); });
  $('recategorize').addEventListener('click', openPicker);
  $('skip').addEventListener('click', skip);
  $('refresh').addEventListener('click', function () { status(''); loadNext(); });

  $('reviewer-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var id = $('reviewer').value.trim();
    if (!id) return;
    state.reviewer = id;
    localStorage.setItem(STORAGE_KEY, id);
    $('reviewer').blur();
    status('');
    loadNext();
  });
  $('adjudicator').addEventListener('change', function () {
    localStorage.setItem(ADJUDICATOR_KEY, $('adjudicator').checked ? '1' : '0');
    $('adjudicator').blur();
    if (!state.item) loadNext();
  });

  var fromQuery = new URLSearchParams(location.search).get('reviewer');
  state.reviewer = (fromQuery || localStorage.getItem(STORAGE_KEY) || '').trim() || null;
  if (fromQuery) localStorage.setItem(STORAGE_KEY, fromQuery.trim());
  $('reviewer').value = state.reviewer || '';
  $('adjudicator').checked = localStorage.getItem(ADJUDICATOR_KEY) === '1';
  if (state.reviewer) loadNext(); else { show('signin'); $('reviewer').focus(); }
})();
`;
