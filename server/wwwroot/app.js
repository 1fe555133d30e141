// SamEngine's page: SAM's interactive demo over `sam serve`'s JSON API. Plain JS, no build step.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const token = new URLSearchParams(location.search).get('token');

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  /** fetch with the token; JSON in and out; a 4xx/5xx becomes an ApiError with the server's one line. */
  async function api(path, { method = 'GET', json, body } = {}) {
    const headers = {};
    if (token) headers.Authorization = 'Bearer ' + token;
    if (json !== undefined) { headers['Content-Type'] = 'application/json'; body = JSON.stringify(json); }
    else if (body !== undefined) headers['Content-Type'] = 'application/octet-stream';
    let response;
    try { response = await fetch(path, { method, headers, body }); }
    catch (e) { throw new ApiError(0, `the server cannot be reached (${e.message})`); }
    const text = await response.text();
    const data = parseJson(text);
    if (!response.ok) {
      const message = data && data.error ? data.error : `HTTP ${response.status} ${response.statusText}`;
      throw new ApiError(response.status, message);
    }
    if (data === undefined) throw new ApiError(response.status, `the server's answer to ${method} ${path} is not JSON`);
    return data;
  }

  /** JSON.parse; undefined when the text is not JSON (a proxy's error page, say). */
  function parseJson(text) {
    if (!text) return null;
    try { return JSON.parse(text); } catch { return undefined; }
  }

  // ---------------------------------------------------------------- RLE

  /**
   * COCO uncompressed RLE → a row-major Uint8Array (1 = set). The counts run down each column
   * (column-major, columns left to right), alternating runs of 0 and 1, starting with 0.
   */
  function decodeRle(segmentation) {
    const [h, w] = segmentation.size;
    const counts = segmentation.counts;
    const mask = new Uint8Array(h * w);
    let pos = 0; // column-major index
    for (let i = 0; i < counts.length; i++) {
      const n = counts[i];
      if (i & 1) {
        const end = pos + n;
        while (pos < end) {
          const x = Math.floor(pos / h);
          const y = pos - x * h;
          const run = Math.min(end - pos, h - y);
          for (let k = 0, o = y * w + x; k < run; k++, o += w) mask[o] = 1;
          pos += run;
        }
      } else {
        pos += n;
      }
    }
    if (pos !== h * w) throw new Error(`RLE runs add up to ${pos} pixels, not ${h}×${w}`);
    return mask;
  }

  /**
   * COCO's compressed RLE string (pycocotools' rleToString, as Model/Amg/CocoRle.cs writes it):
   * from the fourth run on, each count minus the count two before; each number a signed
   * little-endian base-32 number, 5 bits per character, 0x20 = more follow, 0x10 of the last
   * one the sign, each character offset by 48.
   */
  function cocoRleString(counts) {
    let s = '';
    for (let i = 0; i < counts.length; i++) {
      let x = counts[i];
      if (i > 2) x -= counts[i - 2];
      let more = true;
      while (more) {
        let c = x & 0x1f;
        x >>= 5; // arithmetic: counts and their differences fit in 32 bits
        more = (c & 0x10) ? x !== -1 : x !== 0;
        if (more) c |= 0x20;
        s += String.fromCharCode(c + 48);
      }
    }
    return s;
  }

  // ---------------------------------------------------------------- state

  const FG = '#22c55e', BG = '#ef4444';
  const SELECTED_RGB = [30, 144, 255];
  const HOVER_RGB = [255, 214, 10];

  /**
   * A prompt is a chain of nodes: each committed change (a point, a box) is a child of the
   * node it changed, predicted with its parent's prediction fed back as mask_input. Undo moves
   * to the parent (whose masks are kept), clear to the root.
   */
  const root = () => ({ parent: null, points: [], box: null, action: null, result: null, promise: Promise.resolve(), error: null });

  const state = {
    info: null,
    image: null,          // { id, width, height, name, bitmap }
    ready: false,
    node: root(),
    mode: 'prompt',       // 'prompt' | 'everything'
    amg: null,            // { records, masks: [Uint8Array], labels: Int32Array, selected }
    hover: null,          // { mask } — preview only, never committed
    view: { scale: 1, dpr: 1 },
    drag: null,           // { x0, y0, x1, y1, moved, button, alt }
    busy: 0,
  };
  let imageGeneration = 0;

  // What the last committed predict sent and got (read by the browser test), and counters.
  const record = { lastPrompt: null, lastResponse: null, predictions: 0, drawnAmgMasks: 0, amgCount: null };

  // ---------------------------------------------------------------- elements

  const imageCanvas = $('image-canvas');
  const overlay = $('overlay');
  const maskCanvas = $('mask-canvas');
  const fileInput = $('file');
  const buttons = {
    undo: $('undo'), clear: $('clear'), everything: $('everything'),
    exportMask: $('export-mask'), exportCutout: $('export-cutout'), exportJson: $('export-json'),
  };

  function setStatus(text, { error = false, progress = false } = {}) {
    $('status-text').textContent = text;
    $('status').classList.toggle('error', error);
    $('progress').hidden = !progress;
  }

  function setLatency(roundTripMs, response) {
    $('latency').textContent = `last predict: ${Math.round(roundTripMs)} ms round trip · decoder ${response.decoder_ms} ms`;
  }

  // ---------------------------------------------------------------- info

  async function loadInfo() {
    try {
      const info = await api('/api/info');
      state.info = info;
      $('model').textContent = `${info.model} · ${info.device} (${info.device_name}) · ${info.image_size} px input`;
      $('model').title = info.model_digest;
      $('random-banner').hidden = !info.random_weights;
    } catch (e) {
      $('model').textContent = e.status === 401
        ? 'this server needs its token: open the page as …/?token=YOUR_TOKEN'
        : `server info unavailable: ${e.message}`;
      $('model').classList.add('error-text');
    }
  }

  // ---------------------------------------------------------------- opening an image

  async function openFile(file) {
    if (!file) return;
    const generation = ++imageGeneration;
    if (state.info && file.size > state.info.max_upload_bytes) {
      setStatus(`${file.name} is ${(file.size / 1048576).toFixed(1)} MB, more than this server takes (${state.info.max_upload_bytes / 1048576} MB)`, { error: true });
      return;
    }
    resetImage();
    setStatus(`uploading ${file.name} (${(file.size / 1024).toFixed(0)} KB)…`, { progress: true });
    const bitmapPromise = createImageBitmap(file).catch(() => null);
    let status;
    try {
      status = await api('/api/images', { method: 'POST', body: await file.arrayBuffer() });
    } catch (e) {
      if (generation === imageGeneration) setStatus(`cannot open ${file.name}: ${e.message}`, { error: true });
      return;
    }
    const bitmap = await bitmapPromise;
    if (generation !== imageGeneration) return;
    state.image = { id: status.id, width: status.width, height: status.height, name: file.name, bitmap };
    maskCanvas.width = status.width;
    maskCanvas.height = status.height;
    $('canvases').hidden = false;
    $('empty').hidden = true;
    layout();
    const started = performance.now();
    while (status.status === 'pending') {
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      setStatus(`encoding ${file.name} (${status.width}×${status.height})… ` +
        (status.queue_position > 0 ? `${status.queue_position} job${status.queue_position === 1 ? '' : 's'} ahead in the queue, ` : 'encoding now, ') + `${seconds} s`, { progress: true });
      await sleep(300);
      if (generation !== imageGeneration) return;
      try { status = await api(`/api/images/${status.id}`); }
      catch (e) { setStatus(`lost the image: ${e.message}`, { error: true }); return; }
      if (generation !== imageGeneration) return;
    }
    if (status.status === 'failed') {
      setStatus(`${file.name} could not be encoded: ${status.error}`, { error: true });
      return;
    }
    state.ready = true;
    const note = bitmap ? '' : ' (this browser cannot show this format: prompting works on a blank canvas)';
    setStatus(`${file.name}: ${status.width}×${status.height}, ready` +
      (status.encode_ms != null ? ` (encoded in ${Math.round(status.encode_ms)} ms)` : ' (embedding cached)') +
      ' — click, right-click, drag or press E' + note);
    updateControls();
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function resetImage() {
    state.image = null;
    state.ready = false;
    state.node = root();
    state.mode = 'prompt';
    state.amg = null;
    state.hover = null;
    hover.epoch++;
    record.lastPrompt = record.lastResponse = null;
    record.amgCount = null;
    record.drawnAmgMasks = 0;
    renderSelectedMask();
    renderSide();
    updateControls();
  }

  // ---------------------------------------------------------------- layout and coordinates

  function layout() {
    const img = state.image;
    if (!img) return;
    const stage = $('stage');
    const availableW = Math.max(stage.clientWidth - 16, 50);
    const availableH = Math.max(stage.clientHeight - 16, 50);
    const scale = Math.min(availableW / img.width, availableH / img.height);
    const cssW = Math.max(1, Math.floor(img.width * scale));
    const cssH = Math.max(1, Math.floor(img.height * scale));
    const dpr = window.devicePixelRatio || 1;
    for (const c of [imageCanvas, overlay]) {
      c.style.width = cssW + 'px';
      c.style.height = cssH + 'px';
      c.width = Math.round(cssW * dpr);
      c.height = Math.round(cssH * dpr);
    }
    $('canvases').style.width = cssW + 'px';
    $('canvases').style.height = cssH + 'px';
    state.view = { scale, dpr };
    layers.clear();
    drawImage();
    drawOverlay();
  }

  function drawImage() {
    const img = state.image;
    const g = imageCanvas.getContext('2d');
    g.fillStyle = '#444';
    g.fillRect(0, 0, imageCanvas.width, imageCanvas.height);
    if (img && img.bitmap) {
      g.imageSmoothingEnabled = true;
      g.imageSmoothingQuality = 'high';
      g.drawImage(img.bitmap, 0, 0, imageCanvas.width, imageCanvas.height);
    }
  }

  /** A pointer event's position in original-image pixels (x right, y down), clamped to the image. */
  function imagePoint(event) {
    const rect = overlay.getBoundingClientRect();
    const img = state.image;
    const x = (event.clientX - rect.left) / rect.width * img.width;
    const y = (event.clientY - rect.top) / rect.height * img.height;
    return [clamp(round1(x), 0, img.width), clamp(round1(y), 0, img.height)];
  }

  const fixed3 = (v) => (typeof v === 'number' ? v.toFixed(3) : 'n/a');
  const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);
  const round1 = (v) => Math.round(v * 10) / 10;

  // ---------------------------------------------------------------- drawing masks

  /**
   * Overlay layers at the overlay's own resolution, cached until their mask or the layout
   * changes: each display pixel takes the label of the image pixel under its centre (nearest),
   * filled with the label's colour and outlined where a neighbour's label differs.
   */
  const layers = new Map();

  function buildLayer(labels, colorOf, fillAlpha) {
    const img = state.image;
    const W = overlay.width, H = overlay.height;
    const sampled = new Int32Array(W * H);
    const xs = new Int32Array(W);
    for (let i = 0; i < W; i++) xs[i] = Math.min(img.width - 1, Math.floor((i + 0.5) * img.width / W));
    for (let j = 0; j < H; j++) {
      const row = Math.min(img.height - 1, Math.floor((j + 0.5) * img.height / H)) * img.width;
      for (let i = 0; i < W; i++) sampled[j * W + i] = labels[row + xs[i]];
    }
    const data = new ImageData(W, H);
    const px = data.data;
    const outline = Math.max(1, Math.round(state.view.dpr));
    const palette = [];
    for (let j = 0; j < H; j++) {
      for (let i = 0; i < W; i++) {
        const o = j * W + i;
        const label = sampled[o];
        if (label < 0) continue;
        const rgb = palette[label] || (palette[label] = colorOf(label));
        let edge = false;
        for (let d = 1; d <= outline && !edge; d++) {
          edge = i < d || j < d || i >= W - d || j >= H - d ||
            sampled[o - d] !== label || sampled[o + d] !== label || sampled[o - d * W] !== label || sampled[o + d * W] !== label;
        }
        px[4 * o] = rgb[0]; px[4 * o + 1] = rgb[1]; px[4 * o + 2] = rgb[2];
        px[4 * o + 3] = edge ? 255 : fillAlpha;
      }
    }
    const canvas = document.createElement('canvas');
    canvas.width = W;
    canvas.height = H;
    canvas.getContext('2d').putImageData(data, 0, 0);
    return canvas;
  }

  /** A 0/1 mask as labels: 0 where set, -1 elsewhere. */
  function maskLabels(mask) {
    const labels = new Int32Array(mask.length);
    for (let i = 0; i < mask.length; i++) labels[i] = mask[i] ? 0 : -1;
    return labels;
  }

  function layer(key, source, build) {
    const cached = layers.get(key);
    if (cached && cached.source === source) return cached.canvas;
    const canvas = build();
    layers.set(key, { source, canvas });
    return canvas;
  }

  /** Distinct colours: hues a golden angle apart. */
  function colorOfIndex(i) {
    const hue = (i * 137.508) % 360;
    return hslToRgb(hue / 360, 0.75, 0.55);
  }

  function hslToRgb(h, s, l) {
    const f = (n) => {
      const k = (n + h * 12) % 12;
      const a = s * Math.min(l, 1 - l);
      return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
    };
    return [f(0), f(8), f(4)];
  }

  function selectedMask() {
    if (state.mode === 'everything') {
      const amg = state.amg;
      return amg && amg.selected != null ? amg.masks[amg.selected] : null;
    }
    const result = state.node.result;
    return result ? result.masks[result.selected].mask : null;
  }

  /** The selected mask into #mask-canvas at the image's size: opaque colour where set, transparent elsewhere. */
  function renderSelectedMask() {
    const img = state.image;
    const g = maskCanvas.getContext('2d');
    g.clearRect(0, 0, maskCanvas.width, maskCanvas.height);
    const mask = selectedMask();
    if (!img || !mask) return;
    const data = g.createImageData(img.width, img.height);
    const px = data.data;
    for (let i = 0; i < mask.length; i++) {
      if (!mask[i]) continue;
      px[4 * i] = SELECTED_RGB[0]; px[4 * i + 1] = SELECTED_RGB[1]; px[4 * i + 2] = SELECTED_RGB[2]; px[4 * i + 3] = 255;
    }
    g.putImageData(data, 0, 0);
  }

  function drawOverlay() {
    const g = overlay.getContext('2d');
    g.clearRect(0, 0, overlay.width, overlay.height);
    const img = state.image;
    if (!img) return;
    if (state.mode === 'everything' && state.amg) {
      const amg = state.amg;
      g.drawImage(layer('amg', amg, () => buildLayer(amg.labels, colorOfIndex, 110)), 0, 0);
      if (amg.selected != null) {
        const mask = amg.masks[amg.selected];
        g.drawImage(layer('selected', mask, () => buildLayer(maskLabels(mask), () => [255, 255, 255], 90)), 0, 0);
      }
    } else {
      const mask = selectedMask();
      if (mask) g.drawImage(layer('selected', mask, () => buildLayer(maskLabels(mask), () => SELECTED_RGB, 115)), 0, 0);
      if (state.hover && !state.drag) {
        const hoverMask = state.hover.mask;
        g.drawImage(layer('hover', hoverMask, () => buildLayer(maskLabels(hoverMask), () => HOVER_RGB, 70)), 0, 0);
      }
      drawPrompt(g);
    }
  }

  function drawPrompt(g) {
    const img = state.image;
    const sx = overlay.width / img.width, sy = overlay.height / img.height;
    const dpr = state.view.dpr;
    const box = state.drag && state.drag.moved ? dragBox() : state.node.box;
    if (box) {
      g.save();
      g.lineWidth = 2 * dpr;
      g.strokeStyle = 'rgba(0,0,0,0.6)';
      g.strokeRect(box[0] * sx, box[1] * sy, (box[2] - box[0]) * sx, (box[3] - box[1]) * sy);
      g.setLineDash(state.drag && state.drag.moved ? [6 * dpr, 4 * dpr] : []);
      g.lineWidth = 1.5 * dpr;
      g.strokeStyle = '#fff';
      g.strokeRect(box[0] * sx, box[1] * sy, (box[2] - box[0]) * sx, (box[3] - box[1]) * sy);
      g.restore();
    }
    for (const p of state.node.points) {
      g.beginPath();
      g.arc(p[0] * sx, p[1] * sy, 6 * dpr, 0, 2 * Math.PI);
      g.fillStyle = p[2] === 1 ? FG : BG;
      g.fill();
      g.lineWidth = 2 * dpr;
      g.strokeStyle = '#fff';
      g.stroke();
    }
  }

  // ---------------------------------------------------------------- prompts and predictions

  function promptOf(node, extraPoint) {
    const points = node.points.map((p) => [p[0], p[1]]);
    const labels = node.points.map((p) => p[2]);
    if (extraPoint) { points.push(extraPoint); labels.push(1); }
    const prompt = {};
    if (points.length) { prompt.points = points; prompt.labels = labels; }
    if (node.box) prompt.box = node.box.slice();
    prompt.multimask = true;
    return prompt;
  }

  function withMaskInput(prompt, previous) {
    if (previous && previous.result) {
      prompt.mask_input = previous.result.predictionId;
      prompt.mask_index = previous.result.selected;
    }
    return prompt;
  }

  function resultOf(response) {
    const masks = response.masks.map((m) => ({
      mask: decodeRle(m.segmentation), segmentation: m.segmentation,
      iou: m.predicted_iou, area: m.area, bbox: m.bbox,
    }));
    let best = 0;
    masks.forEach((m, i) => { if (m.iou > masks[best].iou) best = i; });
    return { predictionId: response.prediction_id, masks, selected: best, best };
  }

  function onPath(node) {
    for (let n = state.node; n; n = n.parent) if (n === node) return true;
    return false;
  }

  /** A committed change: a new node, predicted once its parent's prediction is in. */
  function commit(change) {
    if (!state.ready || state.mode !== 'prompt') return;
    const parent = state.node;
    const node = {
      parent, points: parent.points.slice(), box: parent.box, action: change.kind,
      result: null, error: null, promise: null,
    };
    if (change.kind === 'point') node.points.push(change.point);
    else node.box = change.box;
    state.node = node;
    invalidateHover();
    node.promise = parent.promise.then(() => predictNode(node));
    renderAll();
  }

  async function predictNode(node) {
    if (!onPath(node) || state.image == null) return; // undone or cleared before its turn
    const image = state.image;
    const prompt = withMaskInput(promptOf(node), node.parent);
    state.busy++;
    updateControls();
    const started = performance.now();
    try {
      const response = await api(`/api/images/${image.id}/predict`, { method: 'POST', json: prompt });
      if (state.image !== image) return;
      node.prompt = prompt;
      node.response = response;
      node.result = resultOf(response);
      setLatency(performance.now() - started, response);
      record.predictions++;
      if (node === state.node) {
        record.lastPrompt = prompt;
        record.lastResponse = response;
        setStatus(`${node.result.masks.length} candidate${node.result.masks.length === 1 ? '' : 's'}, best IoU ${node.result.masks[node.result.best].iou.toFixed(3)}`);
      }
    } catch (e) {
      node.error = e.message;
      if (node === state.node) setStatus(`predict failed: ${e.message}`, { error: true });
    } finally {
      state.busy--;
      if (node === state.node) renderAll();
      else updateControls();
    }
  }

  function undo() {
    if (state.mode === 'everything') { leaveEverything(); return; }
    if (!state.node.parent) return;
    state.node = state.node.parent;
    invalidateHover();
    record.lastPrompt = record.lastResponse = null;
    renderAll();
  }

  function clearAll() {
    if (state.mode === 'everything') { leaveEverything(); return; }
    state.node = root();
    invalidateHover();
    record.lastPrompt = record.lastResponse = null;
    if (state.ready) setStatus('cleared — click, right-click, drag or press E');
    renderAll();
  }

  function selectCandidate(k) {
    if (state.mode === 'everything') return;
    const result = state.node.result;
    if (!result || k < 0 || k >= result.masks.length) return;
    result.selected = k;
    renderAll();
  }

  // ---------------------------------------------------------------- hover preview

  /** At most one hover predict in flight; the latest position waits; stale answers are dropped. */
  const hover = { wanted: null, inFlight: false, seq: 0, shown: 0, epoch: 0, last: null };

  function requestHover(point) {
    if (hover.last && hover.last[0] === point[0] && hover.last[1] === point[1]) return;
    hover.last = point;
    hover.wanted = point;
    pumpHover();
  }

  function invalidateHover() {
    hover.epoch++;
    hover.wanted = null;
    hover.last = null;
    if (state.hover) { state.hover = null; drawOverlay(); }
  }

  async function pumpHover() {
    if (hover.inFlight || !hover.wanted || !state.ready || state.mode !== 'prompt') return;
    const point = hover.wanted;
    hover.wanted = null;
    const seq = ++hover.seq, epoch = hover.epoch, image = state.image, node = state.node;
    const prompt = withMaskInput(promptOf(node, point), node);
    hover.inFlight = true;
    const started = performance.now();
    try {
      const response = await api(`/api/images/${image.id}/predict`, { method: 'POST', json: prompt });
      if (epoch === hover.epoch && seq > hover.shown && image === state.image && node === state.node && !state.drag) {
        hover.shown = seq;
        const result = resultOf(response);
        state.hover = { mask: result.masks[result.best].mask, iou: result.masks[result.best].iou };
        setLatency(performance.now() - started, response);
        drawOverlay();
      }
    } catch { /* a preview that failed is just not shown */ }
    finally {
      hover.inFlight = false;
      if (hover.wanted) pumpHover();
    }
  }

  // ---------------------------------------------------------------- everything (AMG)

  function amgOptions() {
    const options = {};
    const pps = parseInt($('points-per-side').value, 10);
    if (Number.isFinite(pps) && pps !== 32) options.points_per_side = pps;
    const iou = parseFloat($('pred-iou-thresh').value);
    if (Number.isFinite(iou) && iou !== 0.88) options.pred_iou_thresh = iou;
    const stability = parseFloat($('stability-thresh').value);
    if (Number.isFinite(stability) && stability !== 0.95) options.stability_score_thresh = stability;
    return options;
  }

  async function runEverything() {
    if (!state.ready) return;
    const image = state.image;
    const options = amgOptions();
    state.busy++;
    updateControls();
    setStatus('segmenting everything…', { progress: true });
    const started = performance.now();
    try {
      const records = await api(`/api/images/${image.id}/amg`, { method: 'POST', json: options });
      if (state.image !== image) return;
      const masks = records.map((r) => decodeRle(r.segmentation));
      // Larger masks first, so that smaller ones stay visible on top of them.
      const labels = new Int32Array(image.width * image.height).fill(-1);
      const order = records.map((r, i) => i).sort((a, b) => records[b].area - records[a].area);
      record.drawnAmgMasks = 0;
      for (const i of order) {
        const m = masks[i];
        for (let p = 0; p < m.length; p++) if (m[p]) labels[p] = i;
        record.drawnAmgMasks++;
      }
      state.amg = { records, masks, labels, selected: null };
      record.amgCount = records.length;
      state.mode = 'everything';
      invalidateHover();
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      setStatus(`everything: ${records.length} mask${records.length === 1 ? '' : 's'} in ${seconds} s` +
        (records.length ? ' — click a mask to select it; Esc returns to prompting' : ' (lower min IoU / stability to keep more) — Esc returns to prompting'));
    } catch (e) {
      setStatus(`everything failed: ${e.message}`, { error: true });
    } finally {
      state.busy--;
      renderAll();
    }
  }

  function leaveEverything() {
    state.mode = 'prompt';
    state.amg = null;
    record.drawnAmgMasks = 0;
    layers.delete('amg');
    setStatus('prompting — click, right-click, drag or press E');
    renderAll();
  }

  /** In everything mode, a click selects the smallest mask under the cursor. */
  function pickAmgMask(point) {
    const amg = state.amg;
    const img = state.image;
    const x = Math.min(img.width - 1, Math.floor(point[0])), y = Math.min(img.height - 1, Math.floor(point[1]));
    let best = null;
    amg.masks.forEach((m, i) => {
      if (m[y * img.width + x] && (best == null || amg.records[i].area < amg.records[best].area)) best = i;
    });
    amg.selected = best;
    if (best != null) {
      const r = amg.records[best];
      setStatus(`mask ${best + 1} of ${amg.masks.length}: area ${r.area}, IoU ${fixed3(r.predicted_iou)}, stability ${fixed3(r.stability_score)}`);
    }
    renderAll();
  }

  // ---------------------------------------------------------------- export

  function download(blob, name) {
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 60000);
  }

  const baseName = () => state.image.name.replace(/\.[^.]*$/, '') || 'image';
  const canvasBlob = (canvas) => new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));

  function imageSizedCanvas() {
    const c = document.createElement('canvas');
    c.width = state.image.width;
    c.height = state.image.height;
    return c;
  }

  async function exportMask() {
    const mask = selectedMask();
    if (!mask) return;
    const c = imageSizedCanvas();
    const g = c.getContext('2d');
    const data = g.createImageData(c.width, c.height);
    for (let i = 0; i < mask.length; i++) {
      const v = mask[i] ? 255 : 0;
      data.data[4 * i] = v; data.data[4 * i + 1] = v; data.data[4 * i + 2] = v; data.data[4 * i + 3] = 255;
    }
    g.putImageData(data, 0, 0);
    download(await canvasBlob(c), `${baseName()}.mask.png`);
  }

  async function exportCutout() {
    const mask = selectedMask();
    if (!mask || !state.image.bitmap) return;
    const c = imageSizedCanvas();
    const g = c.getContext('2d');
    g.drawImage(state.image.bitmap, 0, 0, c.width, c.height);
    const data = g.getImageData(0, 0, c.width, c.height);
    for (let i = 0; i < mask.length; i++) {
      if (!mask[i]) { data.data[4 * i] = data.data[4 * i + 1] = data.data[4 * i + 2] = data.data[4 * i + 3] = 0; }
      else data.data[4 * i + 3] = 255;
    }
    g.putImageData(data, 0, 0);
    download(await canvasBlob(c), `${baseName()}.cutout.png`);
  }

  /** amg.py's --convert-to-rle records: the AMG result, else the current candidates. */
  function masksJson() {
    const coco = (segmentation) => ({ size: segmentation.size.slice(), counts: cocoRleString(segmentation.counts) });
    if (state.mode === 'everything' && state.amg) {
      return state.amg.records.map((r) => ({ ...r, segmentation: coco(r.segmentation) }));
    }
    const result = state.node.result;
    if (!result) return null;
    return result.masks.map((m) => ({ segmentation: coco(m.segmentation), area: m.area, bbox: m.bbox, predicted_iou: m.iou }));
  }

  function exportJson() {
    const records = masksJson();
    if (!records) return;
    download(new Blob([JSON.stringify(records)], { type: 'application/json' }), `${baseName()}.masks.json`);
  }

  // ---------------------------------------------------------------- side panel and controls

  function renderAll() {
    renderSelectedMask();
    drawOverlay();
    renderSide();
    updateControls();
  }

  function renderSide() {
    const list = $('candidates');
    list.replaceChildren();
    const everything = state.mode === 'everything';
    $('side-title').textContent = everything ? 'Everything' : 'Candidates';
    const node = state.node;
    const p = node.points;
    const fg = p.filter((q) => q[2] === 1).length, bg = p.length - fg;
    $('prompt-summary').textContent = p.length || node.box
      ? `${fg} foreground, ${bg} background point${bg === 1 ? '' : 's'}` + (node.box ? `; box [${node.box.map((v) => Math.round(v)).join(', ')}]` : '')
      : 'none';
    if (everything) {
      const amg = state.amg;
      $('side-note').textContent = amg ? `${amg.masks.length} masks` + (amg.selected != null ? `; mask ${amg.selected + 1} selected (area ${amg.records[amg.selected].area})` : '; click one to select it') : '';
      return;
    }
    const result = node.result;
    if (!result) {
      $('side-note').textContent = state.busy ? 'predicting…' : node.error ? node.error : (state.ready ? 'click on the image to segment' : '');
      return;
    }
    $('side-note').textContent = 'click a candidate or press its number';
    result.masks.forEach((m, k) => {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'candidate';
      b.dataset.index = String(k);
      b.setAttribute('aria-pressed', String(k === result.selected));
      b.setAttribute('aria-label', `Candidate ${k + 1}: predicted IoU ${m.iou.toFixed(3)}, area ${m.area} pixels${k === result.best ? ', best' : ''}`);
      b.title = `${k + 1}: IoU ${m.iou.toFixed(3)}, area ${m.area}`;
      b.append(thumbnail(m.mask));
      const caption = document.createElement('span');
      caption.textContent = `${k + 1} · IoU ${m.iou.toFixed(3)}${k === result.best ? ' ★' : ''}`;
      b.append(caption);
      b.addEventListener('click', () => selectCandidate(k));
      li.append(b);
      list.append(li);
    });
  }

  /** The image, darkened, with the mask tinted: 160 px wide. */
  function thumbnail(mask) {
    const img = state.image;
    const w = 160, h = Math.max(1, Math.round(160 * img.height / img.width));
    const c = document.createElement('canvas');
    c.width = w;
    c.height = h;
    c.setAttribute('aria-hidden', 'true');
    const g = c.getContext('2d');
    g.fillStyle = '#444';
    g.fillRect(0, 0, w, h);
    if (img.bitmap) g.drawImage(img.bitmap, 0, 0, w, h);
    const data = g.getImageData(0, 0, w, h);
    const px = data.data;
    for (let j = 0; j < h; j++) {
      const row = Math.min(img.height - 1, Math.floor((j + 0.5) * img.height / h)) * img.width;
      for (let i = 0; i < w; i++) {
        const set = mask[row + Math.min(img.width - 1, Math.floor((i + 0.5) * img.width / w))];
        const o = 4 * (j * w + i);
        for (let ch = 0; ch < 3; ch++) px[o + ch] = set ? Math.round(px[o + ch] * 0.45 + SELECTED_RGB[ch] * 0.55) : Math.round(px[o + ch] * 0.4);
      }
    }
    g.putImageData(data, 0, 0);
    return c;
  }

  function updateControls() {
    const ready = state.ready;
    const everything = state.mode === 'everything';
    const hasPrompt = state.node.parent != null;
    buttons.undo.disabled = !ready || (!hasPrompt && !everything);
    buttons.clear.disabled = !ready || (!hasPrompt && !everything);
    buttons.everything.disabled = !ready;
    buttons.everything.setAttribute('aria-pressed', String(everything));
    const mask = selectedMask();
    buttons.exportMask.disabled = !mask;
    buttons.exportCutout.disabled = !mask || !(state.image && state.image.bitmap);
    buttons.exportJson.disabled = !(everything ? state.amg && state.amg.records.length : state.node.result);
    overlay.classList.toggle('everything', everything);
  }

  // ---------------------------------------------------------------- pointer input

  function dragBox(d = state.drag) {
    return [Math.min(d.x0, d.x1), Math.min(d.y0, d.y1), Math.max(d.x0, d.x1), Math.max(d.y0, d.y1)];
  }

  overlay.addEventListener('contextmenu', (e) => e.preventDefault());

  overlay.addEventListener('pointerdown', (e) => {
    if (!state.ready || (e.button !== 0 && e.button !== 2)) return;
    e.preventDefault();
    overlay.setPointerCapture(e.pointerId);
    const [x, y] = imagePoint(e);
    state.drag = { x0: x, y0: y, x1: x, y1: y, moved: false, button: e.button, alt: e.altKey, cx: e.clientX, cy: e.clientY };
  });

  overlay.addEventListener('pointermove', (e) => {
    if (!state.ready) return;
    const point = imagePoint(e);
    const d = state.drag;
    if (d) {
      if (!d.moved && Math.hypot(e.clientX - d.cx, e.clientY - d.cy) > 4 && d.button === 0 && state.mode === 'prompt') {
        d.moved = true;
        invalidateHover();
      }
      if (d.moved) {
        [d.x1, d.y1] = point;
        drawOverlay();
      }
      return;
    }
    if (state.mode === 'prompt') requestHover(point);
  });

  overlay.addEventListener('pointerup', (e) => {
    const d = state.drag;
    if (!d) return;
    state.drag = null;
    if (overlay.hasPointerCapture(e.pointerId)) overlay.releasePointerCapture(e.pointerId);
    if (state.mode === 'everything') {
      if (d.button === 0) pickAmgMask([d.x0, d.y0]);
      return;
    }
    if (d.moved) {
      [d.x1, d.y1] = imagePoint(e);
      const box = dragBox(d);
      if (box[2] - box[0] >= 1 && box[3] - box[1] >= 1) commit({ kind: 'box', box });
      else drawOverlay();
      return;
    }
    const background = d.button === 2 || d.alt || e.altKey;
    commit({ kind: 'point', point: [d.x0, d.y0, background ? 0 : 1] });
  });

  overlay.addEventListener('pointercancel', () => { state.drag = null; drawOverlay(); });
  overlay.addEventListener('pointerleave', () => { if (!state.drag) invalidateHover(); });

  // ---------------------------------------------------------------- files: button and drag-and-drop

  fileInput.addEventListener('change', () => {
    const file = fileInput.files && fileInput.files[0];
    fileInput.value = '';
    openFile(file);
  });

  let dragDepth = 0;
  const hasFiles = (e) => e.dataTransfer && Array.from(e.dataTransfer.types || []).includes('Files');
  window.addEventListener('dragenter', (e) => { if (!hasFiles(e)) return; e.preventDefault(); dragDepth++; $('drop-hint').hidden = false; });
  window.addEventListener('dragover', (e) => { if (!hasFiles(e)) return; e.preventDefault(); e.dataTransfer.dropEffect = 'copy'; });
  window.addEventListener('dragleave', (e) => { if (!hasFiles(e)) return; if (--dragDepth <= 0) { dragDepth = 0; $('drop-hint').hidden = true; } });
  window.addEventListener('drop', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    dragDepth = 0;
    $('drop-hint').hidden = true;
    openFile(e.dataTransfer.files[0]);
  });

  // ---------------------------------------------------------------- buttons and keys

  buttons.undo.addEventListener('click', undo);
  buttons.clear.addEventListener('click', clearAll);
  buttons.everything.addEventListener('click', () => (state.mode === 'everything' ? leaveEverything() : runEverything()));
  buttons.exportMask.addEventListener('click', exportMask);
  buttons.exportCutout.addEventListener('click', exportCutout);
  buttons.exportJson.addEventListener('click', exportJson);

  window.addEventListener('keydown', (e) => {
    const t = e.target;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.isContentEditable)) {
      if (e.key === 'Escape') t.blur();
      return;
    }
    const key = e.key.toLowerCase();
    const ctrl = e.ctrlKey || e.metaKey;
    let handled = true;
    if (key === 'z' && !e.altKey && !e.shiftKey) undo();
    else if (ctrl) handled = false;
    else if (key === 'c' || e.key === 'Escape') clearAll();
    else if (key === 'e') { if (state.ready) buttons.everything.click(); }
    else if (key === 's' && e.shiftKey) exportCutout();
    else if (key === 's') exportMask();
    else if (key === 'j') exportJson();
    else if (key === 'o') fileInput.click();
    else if (e.key >= '1' && e.key <= '3') selectCandidate(Number(e.key) - 1);
    else handled = false;
    if (handled) e.preventDefault();
  });

  new ResizeObserver(() => layout()).observe($('stage'));

  // ---------------------------------------------------------------- for tests and the console

  window.sam = {
    state, record, decodeRle, cocoRleString, masksJson,
    /** The image's status: 'none' | 'pending' | 'ready'. */
    status: () => (state.ready ? 'ready' : state.image ? 'pending' : 'none'),
    /** The current prompt's committed request and the server's answer (null until it is in), and the selected candidate. */
    current: () => ({
      prompt: state.node.prompt || null, response: state.node.response || null,
      selected: state.node.result ? state.node.result.selected : null,
      points: state.node.points, box: state.node.box,
    }),
    /** Settled once every committed prediction so far has come back. */
    idle: async () => { await state.node.promise; return state.busy === 0; },
    /** The selected mask as drawn, read back from #mask-canvas at the image's size: a string of 0/1, row-major. */
    selectedMaskBits: () => {
      const { width, height } = maskCanvas;
      const data = maskCanvas.getContext('2d').getImageData(0, 0, width, height).data;
      const bits = new Array(width * height);
      for (let i = 0; i < bits.length; i++) bits[i] = data[4 * i + 3] ? '1' : '0';
      return bits.join('');
    },
  };

  updateControls();
  loadInfo();
})();
