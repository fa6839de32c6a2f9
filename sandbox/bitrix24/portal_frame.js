/*
 * The sandbox portal page's side of the BX24 stand-in (bx24.js): it POSTs the frame fields into
 * the app's frame, then answers the frame's requests. Not Bitrix24's real protocol (see bx24.js).
 * A message is taken only from the frame's window, from the app's origin, for this APP_SID.
 */
(function () {
  "use strict";
  var frame = document.getElementById("app-frame");
  var form = document.getElementById("app-form");
  if (!frame || !form) {
    return;
  }
  var data = JSON.parse(document.getElementById("bx24-frame").textContent);
  data.init.AUTH_EXPIRES_AT = Date.now() + data.init.AUTH_EXPIRES * 1000;
  var MAX_HEIGHT = 20000;

  function reply(message, result) {
    if (message.id) {
      frame.contentWindow.postMessage(
        { sid: data.sid, id: message.id, result: result },
        data.app_origin
      );
    }
  }

  function notice(text) {
    var box = document.createElement("div");
    box.className = "notice alert";
    box.id = "portal-notice";
    box.textContent = text;
    frame.parentNode.insertBefore(box, frame);
  }

  function installFinish() {
    fetch("/_sandbox/app/install-finish", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sid: data.sid }),
    })
      .then(function (response) {
        return response.json().then(function (body) {
          if (response.ok) {
            window.location.reload(); // the portal opens the installed app
          } else {
            notice(body.error || "installFinish failed");
          }
        });
      })
      .catch(function (error) {
        notice("installFinish failed: " + error);
      });
  }

  window.addEventListener("message", function (event) {
    if (event.source !== frame.contentWindow || event.origin !== data.app_origin) {
      return;
    }
    var message = event.data;
    if (!message || message.sid !== data.sid || typeof message.bx24 !== "string") {
      return;
    }
    var params = message.params || {};
    if (message.bx24 === "getInitData") {
      reply(message, data.init);
    } else if (message.bx24 === "resizeWindow") {
      var height = Number(params.height);
      if (height > 0) {
        frame.style.height = Math.min(Math.ceil(height), MAX_HEIGHT) + "px";
      }
      reply(message, {});
    } else if (message.bx24 === "setInstallFinish") {
      installFinish();
    }
  });

  form.submit();
})();
