// Read my digit: a drawing pad whose digit the book's model reads in the browser.
//
// prepare() mirrors digitlib.prepare_digit step by step (digitlib/own_digits.py), resize() the
// Pillow resampling it calls; predict() runs the book's model with TensorFlow.js, layer by
// layer as Keras does. The page holds the model's weights and the constants in a JSON script
// element (id "read-my-digit-model") that digitlib.drawing_pad writes.
(function (root) {
  "use strict";

  // --- preparation, as digitlib.prepare_digit ---------------------------------------------

  // Step 1: RGBA bytes composited on white paper, reduced with the luminance weights.
  function grayscale(rgba, constants) {
    const [r, g, b] = constants.luminance;
    const gray = new Float64Array(rgba.length / 4);
    for (let i = 0; i < gray.length; i++) {
      const alpha = rgba[4 * i + 3] / 255;
      const paper = 1 - alpha;
      const value = (rgba[4 * i] / 255 * alpha + paper) * r + (rgba[4 * i + 1] / 255 * alpha + paper) * g
        + (rgba[4 * i + 2] / 255 * alpha + paper) * b;
      gray[i] = Math.min(Math.max(value, 0), 1);
    }
    return gray;
  }

  function median(values) {
    const sorted = Float64Array.from(values).sort();
    const middle = sorted.length >> 1;
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  }

  function percentile(sorted, q) {  // NumPy's default, linear interpolation
    const index = (q / 100) * (sorted.length - 1);
    const low = Math.floor(index);
    const high = Math.min(low + 1, sorted.length - 1);
    return sorted[low] + (sorted[high] - sorted[low]) * (index - low);
  }

  // The commonest level: the median of the pixels in the fullest of 64 bins (the lowest on a tie).
  function backgroundLevel(gray) {
    const bin = (v) => Math.min(Math.floor(v * 64), 63);
    const counts = new Array(64).fill(0);
    for (const v of gray) counts[bin(v)]++;
    let fullest = 0;
    for (let b = 1; b < 64; b++) if (counts[b] > counts[fullest]) fullest = b;
    return median(gray.filter((v) => bin(v) === fullest));
  }

  // Step 2: the ink, high on a background of 0, without faint ink and specks.
  function ink(gray, width, height, constants) {
    const background = backgroundLevel(gray);
    const sorted = Float64Array.from(gray).sort();
    const low = percentile(sorted, 0.1);
    const high = percentile(sorted, 99.9);
    const dark = background - low > high - background;
    const out = new Float64Array(gray.length);
    let strongest = 0;
    for (let i = 0; i < gray.length; i++) {
      out[i] = Math.max(dark ? background - gray[i] : gray[i] - background, 0);
      strongest = Math.max(strongest, out[i]);
    }
    if (strongest < constants.min_contrast) return null;  // blank
    for (let i = 0; i < out.length; i++) {
      out[i] = Math.min(out[i] / strongest, 1);
      if (out[i] < constants.ink_threshold) out[i] = 0;
    }
    const specks = [];
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (out[y * width + x] === 0) continue;
        let neighbours = 0;
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const yy = y + dy, xx = x + dx;
            if ((dy || dx) && yy >= 0 && yy < height && xx >= 0 && xx < width && out[yy * width + xx] > 0) neighbours++;
          }
        }
        if (neighbours < 2) specks.push(y * width + x);
      }
    }
    for (const i of specks) out[i] = 0;
    return out;
  }

  // Ink that is not one digit, as check_one_digit: "edges" (three or more touched), "share"
  // (too much of the image) or "frame" (along all four sides of its box); null when it is.
  function checkOneDigit(image, width, height, constants) {
    const inked = (x, y) => image[y * width + x] > 0;
    const any = (n, at) => { for (let i = 0; i < n; i++) if (at(i)) return true; return false; };
    const edges = [any(width, (x) => inked(x, 0)), any(width, (x) => inked(x, height - 1)),
      any(height, (y) => inked(0, y)), any(height, (y) => inked(width - 1, y))].filter(Boolean).length;
    if (edges >= 3) return "edges";
    let count = 0;
    for (const v of image) if (v > 0) count++;
    if (count / image.length > constants.max_ink_share) return "share";
    const box = crop(image, width, height);
    if (!box) return null;
    const share = (n, at) => { let k = 0; for (let i = 0; i < n; i++) if (box.data[at(i)] > 0) k++; return k / n; };
    const [w, h] = [box.width, box.height];
    const sides = [share(w, (x) => x), share(w, (x) => (h - 1) * w + x), share(h, (y) => y * w), share(h, (y) => y * w + w - 1)];
    const short = Math.min(w, h), long = Math.max(w, h);
    if (short >= constants.frame_min_side && short >= long / 2 && Math.min(...sides) >= constants.frame_side_share) return "frame";
    return null;
  }

  // Step 3: the bounding box of the ink.
  function crop(image, width, height) {
    let top = height, bottom = -1, left = width, right = -1;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (image[y * width + x] !== 0) {
          top = Math.min(top, y); bottom = Math.max(bottom, y);
          left = Math.min(left, x); right = Math.max(right, x);
        }
      }
    }
    if (bottom < 0) return null;
    const w = right - left + 1, h = bottom - top + 1;
    const out = new Float64Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[y * w + x] = image[(top + y) * width + left + x];
    return { data: out, width: w, height: h };
  }

  // Pillow's resampling of a 32-bit float image (Resample.c): a box filter when shrinking,
  // a triangle (bilinear) when enlarging; the horizontal pass first, each stored as float32.
  const FILTERS = {
    box: { support: 0.5, weight: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
    bilinear: { support: 1, weight: (x) => Math.max(1 - Math.abs(x), 0) },
  };

  function coefficients(inSize, outSize, filter) {
    const scale = inSize / outSize;
    const filterscale = Math.max(scale, 1);
    const support = filter.support * filterscale;
    const rows = [];
    for (let i = 0; i < outSize; i++) {
      const centre = (i + 0.5) * scale;
      const first = Math.max(Math.trunc(centre - support + 0.5), 0);
      const end = Math.min(Math.trunc(centre + support + 0.5), inSize);
      const weights = [];
      let total = 0;
      for (let x = first; x < end; x++) {
        const w = filter.weight((x - centre + 0.5) / filterscale);
        weights.push(w);
        total += w;
      }
      rows.push({ first, weights: total !== 0 ? weights.map((w) => w / total) : weights });
    }
    return rows;
  }

  function resize(image, width, height, newWidth, newHeight, filter) {
    let data = Float32Array.from(image), w = width;
    if (newWidth !== width) {
      const rows = coefficients(width, newWidth, filter);
      const out = new Float32Array(newWidth * height);
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < newWidth; x++) {
          let sum = 0;
          rows[x].weights.forEach((k, j) => { sum += data[y * w + rows[x].first + j] * k; });
          out[y * newWidth + x] = sum;
        }
      }
      data = out; w = newWidth;
    }
    if (newHeight !== height) {
      const rows = coefficients(height, newHeight, filter);
      const out = new Float32Array(w * newHeight);
      for (let y = 0; y < newHeight; y++) {
        for (let x = 0; x < w; x++) {
          let sum = 0;
          rows[y].weights.forEach((k, j) => { sum += data[(rows[y].first + j) * w + x] * k; });
          out[y * w + x] = sum;
        }
      }
      data = out;
    }
    return data;
  }

  function pythonRound(x) {  // half to even, as Python's round
    const floor = Math.floor(x);
    const diff = x - floor;
    if (diff === 0.5) return floor % 2 === 0 ? floor : floor + 1;
    return Math.round(x);
  }

  // Step 4: the longer side scaled to the box, stretched so that the strongest pixel is 1.
  function fitInBox(cropped, box) {
    const factor = box / Math.max(cropped.width, cropped.height);
    const width = Math.max(1, pythonRound(cropped.width * factor));
    const height = Math.max(1, pythonRound(cropped.height * factor));
    const scaled = resize(cropped.data, cropped.width, cropped.height, width, height,
      factor < 1 ? FILTERS.box : FILTERS.bilinear);
    const out = new Float64Array(scaled.length);
    let strongest = 0;
    for (let i = 0; i < out.length; i++) {
      out[i] = Math.min(Math.max(scaled[i], 0), 1);
      strongest = Math.max(strongest, out[i]);
    }
    if (strongest <= 0) return null;
    for (let i = 0; i < out.length; i++) out[i] /= strongest;
    return { data: out, width, height };
  }

  // Step 5: into the frame, the centre of mass moved by whole pixels to the centre.
  function centreInFrame(scaled, frame, centre) {
    let total = 0, rowSum = 0, colSum = 0;
    for (let y = 0; y < scaled.height; y++) {
      for (let x = 0; x < scaled.width; x++) {
        const v = scaled.data[y * scaled.width + x];
        total += v; rowSum += y * v; colSum += x * v;
      }
    }
    const clip = (v, high) => Math.min(Math.max(v, 0), high);
    const top = clip(Math.floor(centre[0] - rowSum / total + 0.5), frame - scaled.height);
    const left = clip(Math.floor(centre[1] - colSum / total + 0.5), frame - scaled.width);
    const out = new Float32Array(frame * frame);
    for (let y = 0; y < scaled.height; y++) {
      for (let x = 0; x < scaled.width; x++) out[(top + y) * frame + left + x] = scaled.data[y * scaled.width + x];
    }
    return out;
  }

  // The whole of prepare_digit for an RGBA image: {input: the 28 x 28 input or null, problem:
  // null, "blank" or what checkOneDigit found}.
  function prepare(rgba, width, height, constants) {
    const inked = ink(grayscale(rgba, constants), width, height, constants);
    const problem = inked ? checkOneDigit(inked, width, height, constants) : "blank";
    if (problem) return { input: null, problem };
    const scaled = fitInBox(crop(inked, width, height), constants.box);
    return scaled ? { input: centreInFrame(scaled, constants.frame, constants.centre), problem: null }
      : { input: null, problem: "blank" };
  }

  const PROBLEMS = {
    edges: "The drawing touches three edges of the box or more: draw one digit inside it.",
    share: "The ink covers too much of the box: draw one digit, with room around it.",
    frame: "That looks like a frame around the digit: draw the digit alone.",
  };

  // --- the model, with TensorFlow.js ------------------------------------------------------

  function decode(array) {
    const bytes = Uint8Array.from(atob(array.data), (c) => c.charCodeAt(0));
    return { shape: array.shape, values: new Float32Array(bytes.buffer) };
  }

  function loadModel(tf, spec) {
    const tensor = (name, part) => {
      const { shape, values } = decode(spec.weights[name][part]);
      return tf.tensor(values, shape, "float32");
    };
    const layers = {};
    for (const name of Object.keys(spec.weights)) layers[name] = { kernel: tensor(name, "kernel"), bias: tensor(name, "bias") };
    const frame = spec.constants.frame;
    // images: a Float32Array of n 28 x 28 images; returns the first layer's maps and the probabilities
    return function run(images) {
      return tf.tidy(() => {
        const n = images.length / (frame * frame);
        const x = tf.tensor4d(images, [n, frame, frame, 1]);
        const conv = (input, name) => tf.relu(tf.add(tf.conv2d(input, layers[name].kernel, 1, "valid"), layers[name].bias));
        const maps = conv(x, "conv1");
        const pooled = conv(tf.maxPool(maps, 2, 2, "valid"), "conv2");
        const features = tf.reshape(tf.maxPool(pooled, 2, 2, "valid"), [n, -1]);
        const probabilities = tf.softmax(tf.add(tf.matMul(features, layers.classifier.kernel), layers.classifier.bias));
        return { maps: maps.dataSync(), mapShape: maps.shape, probabilities: probabilities.dataSync() };
      });
    };
  }

  // --- the page ---------------------------------------------------------------------------

  function paint(canvas, values, width, height, colormap, scale) {
    const context = canvas.getContext("2d");
    const image = context.createImageData(width, height);
    for (let i = 0; i < width * height; i++) {
      const level = Math.round(Math.min(Math.max(values[i] / scale, 0), 1) * 255);
      image.data.set([colormap[3 * level], colormap[3 * level + 1], colormap[3 * level + 2], 255], 4 * i);
    }
    return image;
  }

  function start(tf, document) {
    const spec = JSON.parse(document.getElementById("read-my-digit-model").textContent);
    const constants = spec.constants;
    const colormap = Uint8Array.from(atob(spec.colormap), (c) => c.charCodeAt(0));
    const run = loadModel(tf, spec);
    const pad = document.getElementById("pad");
    const input = document.getElementById("model-input");
    const mapsCanvas = document.getElementById("feature-maps");
    const prediction = document.getElementById("prediction");
    const bars = Array.from(prediction.querySelectorAll(".rmd-bar"));
    const context = pad.getContext("2d", { willReadFrequently: true });
    const frame = constants.frame;
    // for the book's tests: the same preparation and model on any images, and the last input
    const api = root.readMyDigit = {
      prepare: (rgba, width, height) => prepare(rgba, width, height, constants),  // {input, problem}
      predict: (images) => Array.from(run(Float32Array.from(images)).probabilities),
      input: null,
    };

    // no answer: the input, the maps and the bars emptied, and a word to the reader
    function unread(message) {
      input.getContext("2d").clearRect(0, 0, input.width, input.height);
      mapsCanvas.getContext("2d").clearRect(0, 0, mapsCanvas.width, mapsCanvas.height);
      bars.forEach((bar) => { bar.style.setProperty("--p", 0); bar.classList.remove("rmd-top"); bar.querySelector(".rmd-value").textContent = ""; });
      api.input = null;
      prediction.dataset.digit = "";
      prediction.dataset.probabilities = "[]";
      prediction.querySelector(".rmd-answer").textContent = message;
    }

    function clear() {
      context.fillStyle = "#ffffff";
      context.fillRect(0, 0, pad.width, pad.height);
      unread("Draw a digit in the box.");
    }

    // started: when the stroke ended (the event's time), so the latency is the reader's wait
    function read(started = performance.now()) {
      const pixels = context.getImageData(0, 0, pad.width, pad.height).data;
      const { input: image, problem } = prepare(pixels, pad.width, pad.height, constants);
      if (!image) {
        unread(PROBLEMS[problem] || "Draw a digit in the box.");
        return;
      }
      const { maps, mapShape, probabilities } = run(image);
      api.input = Array.from(image);
      input.getContext("2d").putImageData(paint(input, image, frame, frame, colormap, 1), 0, 0);
      // the first layer's maps in a grid, on one shared scale as in the book's figures
      const [, mh, mw, channels] = mapShape, columns = constants.map_columns, gap = constants.map_gap;
      let strongest = 0;
      for (const v of maps) strongest = Math.max(strongest, v);
      const mctx = mapsCanvas.getContext("2d");
      mctx.clearRect(0, 0, mapsCanvas.width, mapsCanvas.height);
      for (let c = 0; c < channels; c++) {
        const one = new Float32Array(mh * mw);
        for (let i = 0; i < mh * mw; i++) one[i] = maps[i * channels + c];
        const x = (c % columns) * (mw + gap), y = Math.floor(c / columns) * (mh + gap);
        mctx.putImageData(paint(mapsCanvas, one, mw, mh, colormap, strongest || 1), x, y);
      }
      const p = Array.from(probabilities);
      const percent = (x) => (x >= 0.9995 ? "> 99.9%" : `${(100 * x).toFixed(1)}%`);
      const digit = p.indexOf(Math.max(...p));
      bars.forEach((bar, d) => {
        bar.style.setProperty("--p", p[d]);
        bar.classList.toggle("rmd-top", d === digit);
        bar.querySelector(".rmd-value").textContent = percent(p[d]);
      });
      prediction.querySelector(".rmd-answer").textContent = `The model reads ${digit === 8 ? "an" : "a"} ${digit}, with a probability ${p[digit] >= 0.9995 ? "above 99.9%" : `of ${percent(p[digit])}`}.`;
      prediction.dataset.probabilities = JSON.stringify(p);
      prediction.dataset.milliseconds = (performance.now() - started).toFixed(2);
      prediction.dataset.digit = String(digit);
    }

    let last = null, pending = false;
    function point(event) {
      const box = pad.getBoundingClientRect();
      return [(event.clientX - box.left) * pad.width / box.width, (event.clientY - box.top) * pad.height / box.height];
    }
    function line(to) {
      context.strokeStyle = "#000000";
      context.lineWidth = constants.pen_width;
      context.lineCap = context.lineJoin = "round";
      context.beginPath();
      context.moveTo(...last);
      context.lineTo(...to);
      context.stroke();
      last = to;
    }
    pad.addEventListener("pointerdown", (event) => {
      pad.setPointerCapture(event.pointerId);
      last = point(event);
      line(last);
      event.preventDefault();
    });
    pad.addEventListener("pointermove", (event) => {
      if (!last) return;
      line(point(event));
      if (!pending) {  // read as the digit is drawn, at most once a frame
        pending = true;
        requestAnimationFrame(() => { pending = false; if (last) read(); });
      }
    });
    const end = (event) => { if (last) { last = null; read(event.timeStamp); } };
    pad.addEventListener("pointerup", end);
    pad.addEventListener("pointercancel", end);
    document.getElementById("clear").addEventListener("click", clear);
    clear();
  }

  if (typeof module !== "undefined" && module.exports) {
    module.exports = { prepare, resize, coefficients, FILTERS };
  } else {
    start(root.tf, root.document);
  }
})(typeof window !== "undefined" ? window : globalThis);
