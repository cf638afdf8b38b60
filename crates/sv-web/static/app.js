// studyvault page enhancements. Every page works without this file; it only adds:
// copy buttons, the viewer's keys, wheel, slider scrubbing and cine, and upload progress.
// No inline script or style anywhere (CSP): all data comes from data- attributes.
(function () {
  "use strict";

  function $(root, selector) {
    return root.querySelector(selector);
  }

  function all(root, selector) {
    return Array.prototype.slice.call(root.querySelectorAll(selector));
  }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  // Elements only useful with the script, and their no-script fallbacks.
  function toggleScriptOnly() {
    all(document, "[data-js-show]").forEach(function (node) { node.hidden = false; });
    all(document, "[data-js-hide]").forEach(function (node) { node.hidden = true; });
  }

  // ---- Copy buttons: <button data-copy="input-id"> next to a read-only input. ----

  function initCopyButtons() {
    all(document, "button[data-copy]").forEach(function (button) {
      var input = document.getElementById(button.getAttribute("data-copy"));
      if (!input) return;
      var field = button.closest(".copy-field") || button.parentNode;
      var status = $(field, "[data-copy-status]");
      var timer = null;
      function say(text) {
        if (!status) return;
        status.textContent = text;
        clearTimeout(timer);
        timer = setTimeout(function () { status.textContent = ""; }, 5000);
      }
      function fallback() {
        input.focus();
        input.select();
        var ok = false;
        try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
        say(ok ? "Copied." : "Selected: press Ctrl+C (or \u2318C) to copy.");
      }
      input.addEventListener("focus", function () { input.select(); });
      button.hidden = false;
      button.addEventListener("click", function () {
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(input.value).then(function () { say("Copied."); }, fallback);
        } else {
          fallback();
        }
      });
    });
  }

  // ---- Series viewer ----

  var MAX_FPS = 10; // never faster (the cine is a user-started animation; SC 2.2.2, 2.3.1)
  var WHEEL_STEP = 60; // pixels of wheel travel per image

  function initViewer() {
    var root = $(document, "[data-viewer]");
    if (!root) return;
    var frames;
    try { frames = JSON.parse(root.getAttribute("data-frames") || "[]"); } catch (e) { return; }
    if (!Array.isArray(frames) || frames.length === 0) return;

    var img = $(root, "[data-viewer-image]");
    var stage = $(root, "[data-viewer-stage]");
    var slider = $(root, "[data-viewer-slider]");
    var number = $(root, "[data-viewer-n]");
    var status = $(root, "[data-viewer-status]");
    var prev = $(root, "[data-viewer-prev]");
    var next = $(root, "[data-viewer-next]");
    var download = $(root, "[data-viewer-download]");
    var play = $(root, "[data-viewer-play]");
    var fps = $(root, "[data-viewer-fps]");
    var scrubForm = slider ? slider.form : null;
    var pageUrl = root.getAttribute("data-page-url") || "";
    var index = clamp((parseInt(root.getAttribute("data-index"), 10) || 1) - 1);
    var timer = null;
    var preloaded = {};

    function clamp(i) {
      return Math.max(0, Math.min(frames.length - 1, i));
    }

    function urlFor(i) {
      return pageUrl + "?i=" + (i + 1);
    }

    function setLink(link, target) {
      if (!link) return;
      if (target === null) {
        link.removeAttribute("href");
        link.setAttribute("aria-disabled", "true");
      } else {
        link.setAttribute("href", urlFor(target));
        link.removeAttribute("aria-disabled");
      }
    }

    function preload(i) {
      if (i < 0 || i >= frames.length || preloaded[i]) return;
      preloaded[i] = true;
      var image = new Image();
      image.src = frames[i].src;
    }

    function show(i) {
      i = clamp(i);
      if (i === index) return;
      index = i;
      var frame = frames[i];
      img.src = frame.src;
      img.alt = frame.alt || "";
      if (number) number.textContent = String(i + 1);
      if (slider) slider.value = String(i + 1);
      if (download) download.setAttribute("href", frame.src);
      setLink(prev, i > 0 ? i - 1 : null);
      setLink(next, i < frames.length - 1 ? i + 1 : null);
      if (window.history && history.replaceState && pageUrl) {
        try { history.replaceState(null, "", urlFor(i)); } catch (e) { /* file: previews */ }
      }
      preload(i + 1);
      preload(i - 1);
    }

    function step(delta) {
      show(index + delta);
    }

    // Cine: started only by the button, stopped by the button, any manual step, or leaving the tab.
    function playing() {
      return timer !== null;
    }

    function stop() {
      if (!playing()) return;
      clearInterval(timer);
      timer = null;
      play.textContent = "Play";
      play.setAttribute("aria-pressed", "false");
      if (status) status.setAttribute("aria-live", "polite");
    }

    function start() {
      if (playing() || frames.length < 2) return;
      var rate = Math.min(MAX_FPS, Math.max(1, parseInt(fps && fps.value, 10) || 5));
      play.textContent = "Pause";
      play.setAttribute("aria-pressed", "true");
      if (status) status.setAttribute("aria-live", "off"); // no announcement per frame
      for (var k = 1; k <= 3; k++) preload((index + k) % frames.length);
      timer = setInterval(function () {
        if (!img.complete) return; // wait for the current image rather than skip
        var nextIndex = index + 1 >= frames.length ? 0 : index + 1;
        show(nextIndex);
        preload((nextIndex + 3) % frames.length);
      }, Math.round(1000 / rate));
    }

    if (play) {
      play.addEventListener("click", function () {
        if (playing()) stop(); else start();
      });
    }
    if (fps) {
      fps.addEventListener("change", function () {
        if (playing()) { stop(); start(); }
      });
    }
    document.addEventListener("visibilitychange", function () {
      if (document.hidden) stop();
    });

    if (prev) prev.addEventListener("click", function (e) { e.preventDefault(); stop(); step(-1); });
    if (next) next.addEventListener("click", function (e) { e.preventDefault(); stop(); step(1); });

    if (slider) {
      slider.addEventListener("input", function () {
        stop();
        show((parseInt(slider.value, 10) || 1) - 1);
      });
    }
    if (scrubForm) {
      scrubForm.addEventListener("submit", function (e) { e.preventDefault(); });
    }

    document.addEventListener("keydown", function (e) {
      if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
      var target = e.target;
      var tag = target && target.tagName;
      if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable)) return;
      var delta = null;
      switch (e.key) {
        case "ArrowLeft": case "ArrowUp": delta = -1; break;
        case "ArrowRight": case "ArrowDown": delta = 1; break;
        case "PageUp": delta = -10; break;
        case "PageDown": delta = 10; break;
        case "Home": stop(); show(0); e.preventDefault(); return;
        case "End": stop(); show(frames.length - 1); e.preventDefault(); return;
        default: return;
      }
      e.preventDefault();
      stop();
      step(delta);
    });

    if (stage) {
      var travel = 0;
      stage.addEventListener("wheel", function (e) {
        if (e.ctrlKey) return; // pinch zoom
        e.preventDefault();
        var dy = e.deltaY;
        if (e.deltaMode === 1) dy *= 20; // lines
        else if (e.deltaMode === 2) dy *= 400; // pages
        travel += dy;
        var steps = travel > 0 ? Math.floor(travel / WHEEL_STEP) : Math.ceil(travel / WHEEL_STEP);
        if (steps !== 0) {
          travel -= steps * WHEEL_STEP;
          stop();
          step(steps);
        }
      }, { passive: false });
    }

    preload(index + 1);
    preload(index - 1);
  }

  // ---- Upload: the same form by XMLHttpRequest, with progress and the JSON report. ----

  var STATUS_LABELS = { stored: "stored", duplicate: "already stored", refused: "refused" };

  function csrfToken(form) {
    var meta = $(document, 'meta[name="csrf-token"]');
    if (meta && meta.getAttribute("content")) return meta.getAttribute("content");
    var field = form.elements.namedItem("csrf");
    return field ? field.value : "";
  }

  function chosenFiles(form) {
    var count = 0;
    all(form, 'input[type="file"]').forEach(function (input) {
      count += input.files ? input.files.length : 0;
    });
    return count;
  }

  function rowsTable(rows) {
    var wrap = el("div", null, "table-wrap");
    var table = el("table", null, "report");
    var head = el("thead");
    var headRow = el("tr");
    ["Instance", "Status", "Reason"].forEach(function (name) {
      var th = el("th", name);
      th.setAttribute("scope", "col");
      headRow.appendChild(th);
    });
    head.appendChild(headRow);
    table.appendChild(head);
    var body = el("tbody");
    rows.forEach(function (row) {
      var tr = el("tr");
      var uid = row && typeof row.sop_instance_uid === "string" && row.sop_instance_uid
        ? row.sop_instance_uid : "(not a DICOM instance)";
      tr.appendChild(el("td", uid, "uid"));
      var status = row && typeof row.status === "string" ? row.status : "unknown";
      var cell = el("td");
      var safeClass = status.replace(/[^a-z-]/g, "");
      cell.appendChild(el("span", STATUS_LABELS[status] || status, "status status-" + safeClass));
      tr.appendChild(cell);
      var reason = row && row.reason !== undefined && row.reason !== null ? row.reason : "";
      if (typeof reason !== "string") reason = JSON.stringify(reason);
      tr.appendChild(el("td", reason));
      body.appendChild(tr);
    });
    table.appendChild(body);
    wrap.appendChild(table);
    return wrap;
  }

  function renderReport(container, report, studiesUrl) {
    container.textContent = "";
    var rows = Array.isArray(report && report.instances) ? report.instances : [];
    var counts = {};
    var order = [];
    rows.forEach(function (row) {
      var s = row && typeof row.status === "string" ? row.status : "unknown";
      if (!(s in counts)) { counts[s] = 0; order.push(s); }
      counts[s] += 1;
    });
    ["stored", "duplicate", "refused"].forEach(function (s) {
      if (!(s in counts)) { counts[s] = 0; order.push(s); }
    });
    var list = el("ul", null, "counts");
    order.sort(function (a, b) {
      var rank = { stored: 0, duplicate: 1, refused: 2 };
      return (a in rank ? rank[a] : 3) - (b in rank ? rank[b] : 3);
    }).forEach(function (s) {
      var li = el("li");
      li.appendChild(el("strong", counts[s]));
      li.appendChild(document.createTextNode(" " + (STATUS_LABELS[s] || s)));
      list.appendChild(li);
    });
    if (report && typeof report.study_count === "number") {
      var li = el("li");
      li.appendChild(el("strong", report.study_count));
      li.appendChild(document.createTextNode(report.study_count === 1 ? " study" : " studies"));
      list.appendChild(li);
    }
    container.appendChild(list);

    var actions = el("p", null, "actions");
    var go = el("a", "Go to your studies", "button primary");
    go.setAttribute("href", studiesUrl);
    actions.appendChild(go);
    container.appendChild(actions);

    var problems = rows.filter(function (row) {
      var s = row && row.status;
      return s !== "stored" && s !== "duplicate";
    });
    if (problems.length) {
      container.appendChild(el("h3", "Not stored"));
      container.appendChild(rowsTable(problems));
    }
    if (rows.length) {
      var details = el("details", null, "all-rows");
      details.appendChild(el("summary", "All " + rows.length + " instances"));
      details.appendChild(rowsTable(rows));
      container.appendChild(details);
    } else {
      container.appendChild(el("p", "The server stored nothing from these files.", "empty"));
    }
  }

  function renderFailure(container, httpStatus, body) {
    container.textContent = "";
    var message = body && typeof body.message === "string" && body.message
      ? body.message
      : (httpStatus === 413 ? "That is more than the server accepts at once. Try fewer files, or a smaller zip."
        : httpStatus === 403 ? "Your session has ended. Reload the page (or sign in again) and retry."
        : "The upload did not work (error " + httpStatus + "). Try again.");
    container.appendChild(el("p", message, "notice error"));
  }

  function initUpload() {
    var form = $(document, "form[data-upload]");
    if (!form || !window.FormData || !window.XMLHttpRequest) return;
    var box = $(form, "[data-upload-progress]");
    var bar = box ? $(box, "progress") : null;
    var statusLine = box ? $(box, "[data-upload-status]") : null;
    var submit = $(form, "[data-upload-submit]");
    var report = $(document, "[data-upload-report]");
    var reportBody = report ? $(report, "[data-upload-report-body]") : null;
    var reportTitle = report ? $(report, "h2") : null;
    var studiesUrl = form.getAttribute("data-studies-url") || "/";
    if (!box || !bar || !report || !reportBody) return;

    function say(text) {
      if (statusLine) statusLine.textContent = text;
    }

    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (chosenFiles(form) === 0) {
        box.hidden = false;
        say("Choose files or a folder first.");
        return;
      }
      var data = new FormData(form);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.getAttribute("action") || window.location.pathname);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-CSRF-Token", csrfToken(form));
      box.hidden = false;
      report.hidden = true;
      bar.max = 100;
      bar.value = 0;
      say("Sending\u2026");
      if (submit) submit.disabled = true;

      xhr.upload.onprogress = function (ev) {
        if (ev.lengthComputable && ev.total > 0) {
          bar.max = ev.total;
          bar.value = ev.loaded;
          say("Sent " + Math.floor((ev.loaded / ev.total) * 100) + "%");
        }
      };
      xhr.upload.onload = function () {
        bar.removeAttribute("value"); // indeterminate while the server stores and renders
        say("Sent. Storing and making previews\u2026");
      };
      xhr.onload = function () {
        if (submit) submit.disabled = false;
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (err) { body = null; }
        if (xhr.status >= 200 && xhr.status < 300 && body) {
          bar.max = 1;
          bar.value = 1;
          say("Done.");
          renderReport(reportBody, body, studiesUrl);
        } else {
          say("Failed.");
          renderFailure(reportBody, xhr.status, body);
        }
        report.hidden = false;
        if (reportTitle) reportTitle.focus();
      };
      xhr.onerror = function () {
        if (submit) submit.disabled = false;
        say("Failed.");
        reportBody.textContent = "";
        reportBody.appendChild(el("p", "The connection failed before the upload finished. Nothing is lost on your side; try again.", "notice error"));
        report.hidden = false;
      };
      xhr.send(data);
    });
  }

  function init() {
    document.documentElement.classList.add("js");
    toggleScriptOnly();
    initCopyButtons();
    initViewer();
    initUpload();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
