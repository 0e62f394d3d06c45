// authd pages: the only script. Loaded with defer from the page's own
// origin (the CSP allows no inline script). The pages work without it,
// except passkeys, which only exist in JavaScript (WebAuthn):
//
//   - the live countdown of the access token's lifetime;
//   - passkeys: "Sign in with a passkey" and the browser's passkey autofill
//     on /login, "Use a passkey" on the second step of a sign-in, and
//     "Add a passkey" on /account and on the second step of a sign-in
//     that must set up a first factor (the JSON API then finishes the
//     sign-in). Each is a button with data-passkey
//     ("signin", "second", "add"), data-begin and data-finish (the JSON
//     API's ceremony endpoints) and data-next (where to go afterwards, a
//     path the server checked). Their box is rendered hidden and shown
//     here when the browser has WebAuthn.
(function () {
  "use strict";

  // ---- Access token countdown

  function countdown() {
    var timers = document.querySelectorAll("[data-countdown]");
    if (!timers.length) {
      return;
    }
    var start = performance.now();
    var interval;

    function pad(n) {
      return n < 10 ? "0" + n : String(n);
    }

    function format(s) {
      var h = Math.floor(s / 3600);
      var m = Math.floor((s % 3600) / 60);
      var sec = s % 60;
      return (h ? h + ":" + pad(m) : String(m)) + ":" + pad(sec);
    }

    function tick() {
      var gone = Math.floor((performance.now() - start) / 1000);
      var running = false;
      timers.forEach(function (el) {
        var left = parseInt(el.getAttribute("data-ttl"), 10) - gone;
        if (isNaN(left)) {
          return;
        }
        if (left > 0) {
          el.textContent = "— in " + format(left);
          running = true;
        } else {
          el.textContent = "— expired";
          el.classList.add("countdown-expired");
        }
      });
      if (!running) {
        clearInterval(interval);
      }
    }

    interval = setInterval(tick, 1000);
    tick();
  }

  // ---- Passkeys (WebAuthn)

  // b64url decodes base64url (no padding) to an ArrayBuffer.
  function b64urlToBuffer(s) {
    var b64 = s.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) {
      b64 += "=";
    }
    var bin = atob(b64);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      out[i] = bin.charCodeAt(i);
    }
    return out.buffer;
  }

  // bufferToB64url encodes an ArrayBuffer (or view) as base64url, no padding.
  function bufferToB64url(buf) {
    var bytes = buf instanceof ArrayBuffer ? new Uint8Array(buf) : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) {
      bin += String.fromCharCode(bytes[i]);
    }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIDs(list) {
    return (list || []).map(function (c) {
      var d = Object.assign({}, c);
      d.id = b64urlToBuffer(c.id);
      return d;
    });
  }

  // requestOptions turns the server's {"publicKey":{…}} for
  // navigator.credentials.get into PublicKeyCredentialRequestOptions.
  function requestOptions(json) {
    var pk = json.publicKey;
    if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function") {
      return PublicKeyCredential.parseRequestOptionsFromJSON(pk);
    }
    var o = Object.assign({}, pk);
    o.challenge = b64urlToBuffer(pk.challenge);
    if (pk.allowCredentials) {
      o.allowCredentials = withIDs(pk.allowCredentials);
    }
    return o;
  }

  // creationOptions does the same for navigator.credentials.create.
  function creationOptions(json) {
    var pk = json.publicKey;
    if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function") {
      return PublicKeyCredential.parseCreationOptionsFromJSON(pk);
    }
    var o = Object.assign({}, pk);
    o.challenge = b64urlToBuffer(pk.challenge);
    o.user = Object.assign({}, pk.user, { id: b64urlToBuffer(pk.user.id) });
    if (pk.excludeCredentials) {
      o.excludeCredentials = withIDs(pk.excludeCredentials);
    }
    return o;
  }

  // credentialJSON is the PublicKeyCredential as the server reads it
  // (WebAuthn L3 toJSON, binary members base64url).
  function credentialJSON(cred) {
    if (typeof cred.toJSON === "function") {
      return cred.toJSON();
    }
    var r = cred.response;
    var out = {
      id: cred.id,
      rawId: bufferToB64url(cred.rawId),
      type: cred.type,
      clientExtensionResults: typeof cred.getClientExtensionResults === "function" ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: bufferToB64url(r.clientDataJSON) }
    };
    if (cred.authenticatorAttachment) {
      out.authenticatorAttachment = cred.authenticatorAttachment;
    }
    if (r.attestationObject) {
      out.response.attestationObject = bufferToB64url(r.attestationObject);
      if (typeof r.getTransports === "function") {
        out.response.transports = r.getTransports();
      }
    } else {
      out.response.authenticatorData = bufferToB64url(r.authenticatorData);
      out.response.signature = bufferToB64url(r.signature);
      if (r.userHandle) {
        out.response.userHandle = bufferToB64url(r.userHandle);
      }
    }
    return out;
  }

  // post sends body as JSON and resolves with the JSON answer; an error
  // answer rejects with the problem's detail as the message.
  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body || {})
    }).then(function (res) {
      return res.text().then(function (text) {
        var data = null;
        try {
          data = text ? JSON.parse(text) : null;
        } catch (e) {
          data = null;
        }
        if (!res.ok) {
          var err = new Error((data && data.detail) || "The server answered " + res.status + ".");
          err.name = "ServerError";
          err.status = res.status;
          err.problem = data || {};
          throw err;
        }
        return data;
      });
    });
  }

  // message is what to tell the person about a failed ceremony.
  function message(err) {
    switch (err && err.name) {
      case "NotAllowedError":
        return "The passkey request was cancelled or timed out. Try again.";
      case "InvalidStateError":
        return "This passkey is already registered for your account.";
      case "SecurityError":
        return "Passkeys do not work on this address.";
      case "NotSupportedError":
        return "This browser or device cannot use this kind of passkey.";
      case "ServerError": {
        var m = String(err.message || "");
        return m.charAt(0).toUpperCase() + m.slice(1) + (/[.!?]$/.test(m) ? "" : ".");
      }
    }
    return "Something went wrong with the passkey. Try again.";
  }

  // safeNext is a same-site path for data-next, else /account.
  function safeNext(v) {
    return typeof v === "string" && v.charAt(0) === "/" && v.indexOf("//") < 0 && v.indexOf("\\") < 0 ? v : "/account";
  }

  function startPasskeys() {
    var buttons = document.querySelectorAll("button[data-passkey]");
    if (!buttons.length || !window.PublicKeyCredential || !navigator.credentials) {
      return;
    }
    document.querySelectorAll("[data-passkey-box]").forEach(function (el) {
      el.hidden = false;
    });
    buttons.forEach(function (btn) {
      var box = btn.closest("[data-passkey-box]") || btn.parentNode;
      var errorEl = box.querySelector("[data-passkey-error]");
      var kind = btn.getAttribute("data-passkey");
      var begin = btn.getAttribute("data-begin");
      var finish = btn.getAttribute("data-finish");
      var next = safeNext(btn.getAttribute("data-next"));
      var autofill = null; // the AbortController of a pending conditional request

      function showError(err) {
        if (!errorEl) {
          return;
        }
        errorEl.textContent = message(err);
        if (err && err.problem && /reauthentication-required$/.test(err.problem.type || "")) {
          relink("data-reauth", "This change needs a recent sign-in. ");
        } else if (err && err.status === 401) {
          // A sign-in that sets up its first factor lives 5 minutes.
          relink("data-expired", "Your sign-in was not finished in time. ");
        }
        errorEl.hidden = false;
      }

      // relink replaces the error with text and a "Sign in again" link to
      // the button's attribute attr, when it has a same-site path there.
      function relink(attr, text) {
        var to = btn.getAttribute(attr);
        if (!to || to.charAt(0) !== "/" || to.charAt(1) === "/") {
          return;
        }
        errorEl.textContent = text;
        var a = document.createElement("a");
        a.href = to;
        a.textContent = "Sign in again";
        errorEl.appendChild(a);
      }

      function busy(on) {
        btn.disabled = on;
        btn.setAttribute("aria-busy", on ? "true" : "false");
        if (on && errorEl) {
          errorEl.hidden = true;
          errorEl.textContent = "";
        }
      }

      // signIn runs an assertion: modal (a click) or conditional (autofill).
      function signIn(mediation, signal) {
        return post(begin).then(function (opts) {
          var req = { publicKey: requestOptions(opts) };
          if (mediation) {
            req.mediation = mediation;
          }
          if (signal) {
            req.signal = signal;
          }
          return navigator.credentials.get(req);
        }).then(function (cred) {
          if (!cred) {
            throw Object.assign(new Error("no credential"), { name: "NotAllowedError" });
          }
          return post(finish, credentialJSON(cred));
        }).then(function () {
          location.assign(next);
          return true;
        });
      }

      function startAutofill() {
        var input = document.getElementById(btn.getAttribute("data-autofill") || "");
        if (!input || typeof PublicKeyCredential.isConditionalMediationAvailable !== "function") {
          return;
        }
        PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
          if (!ok || autofill) {
            return;
          }
          var ctl = new AbortController();
          autofill = ctl;
          signIn("conditional", ctl.signal).catch(function (err) {
            if (ctl.signal.aborted) {
              return; // a click on the button took over
            }
            if (autofill === ctl) {
              autofill = null;
            }
            if (err && err.name !== "NotAllowedError" && err.name !== "AbortError") {
              showError(err);
            }
          });
        }, function () {});
      }

      function register() {
        var nameEl = document.getElementById(btn.getAttribute("data-name") || "");
        var name = nameEl ? nameEl.value.trim() : "";
        return post(begin).then(function (opts) {
          return navigator.credentials.create({ publicKey: creationOptions(opts) });
        }).then(function (cred) {
          if (!cred) {
            throw Object.assign(new Error("no credential"), { name: "NotAllowedError" });
          }
          return post(finish, { name: name, credential: credentialJSON(cred) });
        }).then(function (res) {
          var codes = (res && res.recovery_codes) || [];
          var codesBox = box.querySelector("[data-passkey-codes]");
          if (!codes.length || !codesBox) {
            location.assign(next);
            return true;
          }
          // The first second factor comes with recovery codes: shown
          // once, here, before anything reloads the page.
          var list = codesBox.querySelector(".codes");
          codes.forEach(function (c) {
            var li = document.createElement("li");
            var code = document.createElement("code");
            code.textContent = c;
            li.appendChild(code);
            list.appendChild(li);
          });
          btn.hidden = true;
          if (nameEl) {
            nameEl.closest(".field").hidden = true;
          }
          // What no longer applies once the passkey is added (the other
          // ways to set up a factor at a sign-in that is now finished).
          document.querySelectorAll("[data-passkey-added-hide]").forEach(function (el) {
            el.hidden = true;
          });
          codesBox.hidden = false;
          codesBox.focus();
          return false;
        });
      }

      btn.addEventListener("click", function () {
        if (autofill) {
          autofill.abort();
          autofill = null;
        }
        busy(true);
        var run = kind === "add" ? register() : signIn("", null);
        run.then(function (leaving) {
          if (!leaving) {
            busy(false);
          }
        }, function (err) {
          showError(err);
          busy(false);
          if (kind === "signin") {
            startAutofill();
          }
        });
      });

      if (kind === "signin") {
        startAutofill();
      }
    });
  }

  countdown();
  startPasskeys();
})();
