/* PlinthJobs UI: the page-wide pieces every page shares (loaded by base.html before
 * any page script).
 *
 *   PlinthJobs.toast(title, message, kind, options) -> the toast element
 *     kind: 'info' | 'success' | 'error' | 'cancelled' (default 'info')
 *     options: { jobId,        // a later toast for the same job replaces this one in place
 *                href, linkText // a link under the message ("View")
 *                icon,          // override the kind's icon (e.g. 'clock' for "started")
 *                timeoutMs }    // 0: stays until closed
 *     At most three are visible: a fourth closes the oldest. Each has a close button;
 *     a long message is clamped to three lines (the full text is its title).
 *   PlinthJobs.icon(name) -> an <svg> using the page's sprite (templates/web/_icons.html)
 *   PlinthJobs.statusLabel(status) -> the word a person reads for a job status
 *   PlinthJobs.progressText(job, fallback) -> what a job is doing, honestly: a queued job
 *     waits for a worker (with its place in line when known), a cancelling one stops
 *     at its next step
 *   PlinthJobs.dialog(backdrop, { onEscape }) -> { open(), close() }: a modal that takes
 *     the focus, keeps Tab inside, closes on Escape and gives the focus back.
 */
(function (global) {
  'use strict';
  var PlinthJobs = global.PlinthJobs = global.PlinthJobs || {};
  var SVG = 'http://www.w3.org/2000/svg';
  var MAX_TOASTS = 3;
  var ICONS = { info: 'info', success: 'check', error: 'alert', cancelled: 'ban' };
  var TIMEOUTS = { info: 8000, success: 8000, cancelled: 8000, error: 12000 };
  var LABELS = { pending: 'Queued', running: 'Running', completed: 'Done', failed: 'Failed',
                 cancelled: 'Cancelled', processing: 'Running' };

  function icon(name) {
    var svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('class', 'icon');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    var use = document.createElementNS(SVG, 'use');
    use.setAttribute('href', '#i-' + name);
    svg.appendChild(use);
    return svg;
  }

  function statusLabel(status) {
    var key = String(status || '').toLowerCase();
    return LABELS[key] || (key.charAt(0).toUpperCase() + key.slice(1));
  }

  function ordinal(n) {
    var s = ['th', 'st', 'nd', 'rd'], v = n % 100;
    return n + (s[(v - 20) % 10] || s[v] || s[0]);
  }

  function progressText(job, fallback) {
    var status = String(job.status || '').toLowerCase();
    if (job.cancel_requested_at || job.cancelling) {
      return 'Cancelling: the job stops at its next step.';
    }
    if (status === 'pending') {
      var place = job.queue_place;
      return 'Waiting for a worker to start it' + (place ? ' (' + ordinal(place) + ' in line)' : '') + '…';
    }
    return job.status_message || job.statusMessage || fallback || '';
  }

  // --- toasts ------------------------------------------------------------------------

  function container() {
    var box = document.getElementById('toasts');
    if (!box) {
      box = document.createElement('div');
      box.id = 'toasts';
      box.className = 'toasts';
      box.setAttribute('aria-live', 'polite');
      document.body.appendChild(box);
    }
    return box;
  }

  function dismiss(item) {
    if (item._timer) clearTimeout(item._timer);
    if (item.parentNode) item.parentNode.removeChild(item);
  }

  function schedule(item, ms) {
    if (item._timer) clearTimeout(item._timer);
    if (!ms) return;
    item._timer = setTimeout(function again() {
      // Never pull a toast from under the pointer or the keyboard.
      if (item.matches(':hover') || item.contains(document.activeElement)) {
        item._timer = setTimeout(again, 1500);
        return;
      }
      dismiss(item);
    }, ms);
  }

  function toast(title, message, kind, options) {
    options = options || {};
    kind = ICONS[kind] ? kind : 'info';
    var box = container();
    var item = document.createElement('div');
    item.className = 'toast toast-' + kind;
    item.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    if (options.jobId) item.dataset.jobId = options.jobId;
    item.appendChild(icon(options.icon || ICONS[kind]));
    var strong = document.createElement('div');
    strong.className = 'toast-title';
    strong.textContent = title;
    item.appendChild(strong);
    var close = document.createElement('button');
    close.type = 'button';
    close.className = 'toast-close';
    close.setAttribute('aria-label', 'Dismiss notification');
    close.appendChild(icon('close'));
    close.addEventListener('click', function () { dismiss(item); });
    item.appendChild(close);
    var text = document.createElement('div');
    text.className = 'toast-message';
    text.textContent = message || '';
    if (message && message.length > 120) text.title = message;
    item.appendChild(text);
    if (options.href) {
      var actions = document.createElement('div');
      actions.className = 'toast-actions';
      var link = document.createElement('a');
      link.href = options.href;
      link.className = 'view';
      link.textContent = options.linkText || 'View';
      actions.appendChild(link);
      item.appendChild(actions);
    }
    // A job's later toast ("ready", "failed") takes the place of its "started" one.
    var previous = options.jobId ? box.querySelector('.toast[data-job-id="' + options.jobId + '"]') : null;
    if (previous) {
      if (previous._timer) clearTimeout(previous._timer);
      box.replaceChild(item, previous);
    } else {
      box.appendChild(item);
    }
    var visible = box.querySelectorAll('.toast');
    for (var i = 0; i < visible.length - MAX_TOASTS; i++) dismiss(visible[i]);
    schedule(item, options.timeoutMs === undefined ? TIMEOUTS[kind] : options.timeoutMs);
    return item;
  }

  // --- modal dialogs --------------------------------------------------------------------

  var FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), ' +
                  'textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

  function dialog(backdrop, options) {
    options = options || {};
    var returnTo = null;

    function focusables() {
      return Array.prototype.filter.call(backdrop.querySelectorAll(FOCUSABLE), function (node) {
        return !node.hidden && node.offsetParent !== null;
      });
    }

    function onKey(event) {
      if (backdrop.hidden) return;
      if (event.key === 'Escape') {
        event.preventDefault();
        if (options.onEscape) options.onEscape(); else close();
        return;
      }
      if (event.key !== 'Tab') return;
      var nodes = focusables();
      if (!nodes.length) { event.preventDefault(); return; }
      var first = nodes[0], last = nodes[nodes.length - 1];
      if (event.shiftKey && (document.activeElement === first || !backdrop.contains(document.activeElement))) {
        event.preventDefault(); last.focus();
      } else if (!event.shiftKey && (document.activeElement === last || !backdrop.contains(document.activeElement))) {
        event.preventDefault(); first.focus();
      }
    }

    function open() {
      returnTo = document.activeElement;
      backdrop.hidden = false;
      document.addEventListener('keydown', onKey, true);
      var nodes = focusables();
      if (nodes.length) nodes[nodes.length - 1].focus();
    }

    function close() {
      backdrop.hidden = true;
      document.removeEventListener('keydown', onKey, true);
      if (returnTo && document.contains(returnTo) && returnTo.focus) returnTo.focus();
      returnTo = null;
    }

    return { open: open, close: close };
  }

  // A click outside an open user menu closes it; so does Escape.
  document.addEventListener('click', function (event) {
    document.querySelectorAll('details.user-menu[open]').forEach(function (menu) {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });
  document.addEventListener('keydown', function (event) {
    if (event.key !== 'Escape') return;
    document.querySelectorAll('details.user-menu[open]').forEach(function (menu) {
      menu.open = false;
      menu.querySelector('summary').focus();
    });
  });

  PlinthJobs.toast = toast;
  PlinthJobs.icon = icon;
  PlinthJobs.statusLabel = statusLabel;
  PlinthJobs.progressText = progressText;
  PlinthJobs.dialog = dialog;
})(window);
