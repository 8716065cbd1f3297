/* The decision page: start each job type and show it the seed's way.
 *
 * - competitor_analysis, option_analysis: the job progress modal (title, bar with
 *   percentage, status message, Cancel, "This usually takes ..."); "Run in
 *   background" turns it into a toast.
 * - market_research, evidence_search: in the background, with toasts
 *   ("... started / We'll notify you when it's ready", then "... ready" + View).
 * - brief_generation: inline progress under its button.
 * Every job is followed with PlinthJobs.follow (server-sent events, polling as
 * a fallback). When one completes, the page's section is re-read from the server.
 */
(function () {
  'use strict';
  var root = document.getElementById('decision');
  if (!root) return;
  var decisionId = root.dataset.decisionId;
  var types = JSON.parse(document.getElementById('job-types').textContent);
  var modal = document.getElementById('job-modal');
  var modalJob = null;  // {id, type, stop}

  // --- toasts with a View link (the seed's background pattern) ----------------------

  function toast(title, message, options) {
    options = options || {};
    var box = document.getElementById('toasts');
    if (!box) {
      box = document.createElement('div');
      box.id = 'toasts';
      box.className = 'toasts';
      document.body.appendChild(box);
    }
    var item = document.createElement('div');
    item.className = 'toast toast-' + (options.kind || 'info');
    item.setAttribute('role', 'status');
    if (options.jobId) item.dataset.jobId = options.jobId;
    var strong = document.createElement('strong');
    strong.textContent = (options.kind === 'error' ? '⚠ ' : '✓ ') + title;
    var text = document.createElement('div');
    text.textContent = message;
    item.appendChild(strong);
    item.appendChild(text);
    if (options.href) {
      var actions = document.createElement('div');
      actions.className = 'toast-actions';
      var link = document.createElement('a');
      link.href = options.href;
      link.textContent = 'View';
      link.className = 'view';
      actions.appendChild(link);
      item.appendChild(actions);
    }
    box.appendChild(item);
    setTimeout(function () { item.remove(); }, options.kind === 'error' ? 12000 : 8000);
    return item;
  }

  function errorMessage(job) {
    if (job instanceof Error) return job.message;
    if (job.status === 'cancelled') return 'The job was cancelled.';
    return job.error || job.status_message || ('Job ' + job.status);
  }

  // --- refreshing a section from the server ------------------------------------------

  function refresh(selectors) {
    return fetch(window.location.pathname, { credentials: 'same-origin' })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, 'text/html');
        selectors.forEach(function (selector) {
          var current = document.querySelector(selector);
          var next = fresh.querySelector(selector);
          if (current && next) current.innerHTML = next.innerHTML;
        });
      });
  }

  // --- what each type says when it is done --------------------------------------------

  var done = {
    competitor_analysis: function (job) {
      var out = job.output || {};
      return { title: 'Competitor profile ready', message: (out.company_name || 'The company') + ' has been analyzed.',
               href: '/decisions/' + decisionId + '/competitors/' + out.competitor_profile_id, sections: ['#competitor-list'] };
    },
    option_analysis: function (job) {
      var out = job.output || {};
      var analysis = out.analysis || {};
      return { title: 'Option analysis ready', message: (out.option_title || 'The option') + ': score ' + analysis.score + '/10 (' + analysis.recommendation + ').',
               href: '#option-' + out.option_id, sections: ['#option-list'] };
    },
    market_research: function (job) {
      var out = job.output || {};
      return { title: 'Market research ready', message: (out.evidence_count || 0) + ' evidence item(s) added.',
               href: '#research-' + out.market_research_id, sections: ['#research-list'] };
    },
    evidence_search: function (job) {
      var out = job.output || {};
      return { title: 'Evidence search finished', message: (out.evidence_count || 0) + ' evidence item(s) found.',
               href: '#evidence', sections: ['#evidence-list'] };
    },
    brief_generation: function (job) {
      var out = job.output || {};
      return { title: 'Brief ready', message: (out.title || 'The brief') + ' is written.', href: '#brief', sections: ['#brief-output'] };
    },
  };

  function finished(type, job) {
    var info = done[type](job);
    return refresh(info.sections).then(function () {
      toast(info.title, info.message, { kind: 'success', href: info.href, jobId: job.id });
    });
  }

  function failed(type, job) {
    var cancelled = job.status === 'cancelled';
    toast(cancelled ? types[type].title + ' cancelled' : types[type].title + ' failed', errorMessage(job),
          { kind: cancelled ? 'info' : 'error', jobId: job.id });
  }

  // --- starting a job ----------------------------------------------------------------

  function start(type, input) {
    return PlinthJobs.api('POST', '/api/jobs', { type: type, decision_id: decisionId, input: input })
      .catch(function (error) {
        var message = error.message;
        if (error.data && error.data.input) message = JSON.stringify(error.data.input);
        toast('Could not start ' + types[type].title.toLowerCase(), message, { kind: 'error' });
        throw error;
      });
  }

  function follow(type, jobId, handlers) {
    return PlinthJobs.follow(jobId, {
      intervalMs: types[type].poll_interval_ms,
      onMode: handlers.onMode,
      onProgress: handlers.onProgress,
      onComplete: function (job) { if (handlers.onComplete) handlers.onComplete(job); finished(type, job); },
      onError: function (job) { if (handlers.onError) handlers.onError(job); failed(type, job); },
    });
  }

  function inBackground(type, jobId, announce) {
    if (announce) {
      toast(types[type].title + ' started', "We'll notify you when it's ready.",
            { href: '/jobs/#job-' + jobId, jobId: jobId });
    }
    follow(type, jobId, {});
  }

  // --- the job progress modal ----------------------------------------------------------

  function setModal(job) {
    var pct = Math.max(0, Math.min(100, job.progress || 0));
    modal.querySelector('.bar').style.width = pct + '%';
    modal.querySelector('.progress').setAttribute('aria-valuenow', String(pct));
    modal.querySelector('.percent').textContent = pct + '%';
    if (job.status_message) modal.querySelector('.message').textContent = job.status_message;
  }

  function closeModal() {
    modal.hidden = true;
    modalJob = null;
  }

  function openModal(type, jobId) {
    var info = types[type];
    modal.querySelector('.icon').textContent = info.icon;
    modal.querySelector('.title').textContent = info.modal_title;
    modal.querySelector('.typical').textContent = info.typical_duration;
    modal.querySelector('.message').textContent = 'Starting...';
    modal.querySelector('.mode').textContent = '';
    modal.querySelector('.cancel').disabled = false;
    modal.dataset.jobId = jobId;
    setModal({ progress: 0 });
    modal.hidden = false;
    modalJob = { id: jobId, type: type };
    modalJob.stop = follow(type, jobId, {
      onMode: function (mode) {
        modal.dataset.mode = mode;
        modal.querySelector('.mode').textContent = mode === 'stream' ? 'live' : 'polling';
      },
      onProgress: function (job) { if (modalJob && modalJob.id === jobId) setModal(job); },
      onComplete: function () { if (modalJob && modalJob.id === jobId) closeModal(); },
      onError: function () { if (modalJob && modalJob.id === jobId) closeModal(); },
    });
  }

  modal.querySelector('.cancel').addEventListener('click', function () {
    if (!modalJob) return;
    var button = this;
    button.disabled = true;
    modal.querySelector('.message').textContent = 'Cancelling...';
    PlinthJobs.api('DELETE', '/api/jobs/' + modalJob.id).catch(function (error) {
      button.disabled = false;
      toast('Could not cancel', error.message, { kind: 'error' });
    });
  });

  modal.querySelector('.background').addEventListener('click', function () {
    if (!modalJob) return;
    var job = modalJob;
    modal.hidden = true;
    modalJob = null;  // the follow goes on; its completion shows the toast
    toast(types[job.type].title + ' started', "We'll notify you when it's ready.",
          { href: '/jobs/#job-' + job.id, jobId: job.id });
  });

  // --- inline progress (brief generation) ------------------------------------------------

  var briefButton = document.getElementById('generate-brief');
  var inline = document.querySelector('#brief .inline-progress');
  var briefJob = null;

  function setInline(job) {
    var pct = Math.max(0, Math.min(100, job.progress || 0));
    inline.querySelector('.percent').textContent = pct + '%';
    inline.querySelector('.progress > div').style.width = pct + '%';
    if (job.status_message) inline.querySelector('.message').textContent = job.status_message;
  }

  function followBrief(jobId) {
    briefJob = jobId;
    briefButton.disabled = true;
    inline.hidden = false;
    inline.dataset.jobId = jobId;
    setInline({ progress: 0, status_message: 'Starting...' });
    var end = function () { briefButton.disabled = false; inline.hidden = true; briefJob = null; };
    follow('brief_generation', jobId, {
      onMode: function (mode) { inline.dataset.mode = mode; },
      onProgress: setInline,
      onComplete: end,
      onError: end,
    });
  }

  briefButton.addEventListener('click', function () {
    start('brief_generation', {}).then(function (created) { followBrief(created.id); }, function () {});
  });
  inline.querySelector('.cancel').addEventListener('click', function () {
    if (briefJob) PlinthJobs.api('DELETE', '/api/jobs/' + briefJob).catch(function () {});
  });

  // --- forms and buttons ---------------------------------------------------------------

  document.getElementById('competitor-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var form = event.target;
    var input = { company_name: form.company_name.value.trim(), company_url: form.company_url.value.trim() };
    start('competitor_analysis', input).then(function (created) {
      form.reset();
      openModal('competitor_analysis', created.id);
    }, function () {});
  });

  document.getElementById('option-list').addEventListener('click', function (event) {
    var button = event.target.closest('.analyze-option');
    if (!button) return;
    var optionId = button.closest('.option').dataset.optionId;
    start('option_analysis', { option_id: optionId }).then(function (created) {
      openModal('option_analysis', created.id);
    }, function () {});
  });

  document.getElementById('option-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var form = event.target;
    PlinthJobs.api('POST', '/api/decisions/' + decisionId + '/options',
                   { title: form.title.value.trim(), description: form.description.value.trim() })
      .then(function () { form.reset(); return refresh(['#option-list']); })
      .catch(function (error) { toast('Could not add the option', error.message, { kind: 'error' }); });
  });

  document.getElementById('research-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var form = event.target;
    start('market_research', { query: form.query.value.trim() }).then(function (created) {
      form.reset();
      inBackground('market_research', created.id, true);
    }, function () {});
  });

  document.getElementById('evidence-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var form = event.target;
    start('evidence_search', { query: form.query.value.trim() }).then(function (created) {
      form.reset();
      inBackground('evidence_search', created.id, true);
    }, function () {});
  });

  // --- jobs still running when the page was (re)loaded ----------------------------------

  JSON.parse(document.getElementById('active-jobs').textContent).forEach(function (job) {
    if (!types[job.type]) return;
    if (job.type === 'brief_generation') followBrief(job.id);
    else inBackground(job.type, job.id, false);
  });
})();
