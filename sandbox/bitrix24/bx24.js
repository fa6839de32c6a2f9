/*
 * The sandbox portal's stand-in for Bitrix24's BX24 library (//api.bitrix24.com/api/v1/).
 *
 * It offers the part of BX24's API surface an app page uses: init, getAuth, isAdmin, getLang,
 * getDomain, fitWindow, resizeWindow, installFinish. It is NOT Bitrix24's real protocol between
 * the frame and the portal: only the functions' names and what they do are Bitrix24's. Here the
 * frame and the portal page talk by postMessage with objects {bx24, sid, id, params}, each side
 * checking the other's window and origin. The portal page names the frame "host|protocol|APP_SID"
 * (see portal_page.html), which is how this script finds the portal: the frame's own query
 * string is the app's, and later pages in the frame have none.
 */
(function () {
  "use strict";
  if (window.BX24) {
    return;
  }
  var parts = (window.name || "").split("|");
  var sid = parts[2] || "";
  var portalOrigin = (parts[1] === "1" ? "https://" : "http://") + parts[0];
  var framed = window.parent !== window && sid !== "";
  var state = { ready: false, data: null, waiting: [] };
  var pending = {};
  var counter = 0;

  function send(command, params, callback) {
    if (!framed) {
      return;
    }
    var id = "";
    if (typeof callback === "function") {
      id = String(++counter);
      pending[id] = callback;
    }
    window.parent.postMessage(
      { bx24: command, sid: sid, id: id, params: params || {} },
      portalOrigin
    );
  }

  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || event.origin !== portalOrigin) {
      return;
    }
    var message = event.data;
    if (!message || message.sid !== sid || !Object.prototype.hasOwnProperty.call(pending, message.id)) {
      return;
    }
    var callback = pending[message.id];
    delete pending[message.id];
    callback(message.result);
  });

  function whenReady(callback) {
    if (state.ready) {
      callback();
    } else {
      state.waiting.push(callback);
    }
  }

  send("getInitData", {}, function (data) {
    state.data = data;
    state.ready = true;
    var waiting = state.waiting;
    state.waiting = [];
    waiting.forEach(function (callback) {
      callback();
    });
  });

  window.BX24 = {
    init: whenReady,
    getAuth: function () {
      var data = state.data;
      if (!data || Date.now() >= data.AUTH_EXPIRES_AT) {
        return false;
      }
      return {
        access_token: data.AUTH_ID,
        refresh_token: data.REFRESH_ID,
        expires_in: Math.round((data.AUTH_EXPIRES_AT - Date.now()) / 1000),
        domain: data.DOMAIN,
        member_id: data.MEMBER_ID,
      };
    },
    isAdmin: function () {
      return Boolean(state.data && state.data.IS_ADMIN);
    },
    getLang: function () {
      return state.data ? state.data.LANG : "ru";
    },
    getDomain: function () {
      return state.data ? state.data.DOMAIN : "";
    },
    resizeWindow: function (width, height, callback) {
      send("resizeWindow", { width: width, height: height }, callback || function () {});
    },
    fitWindow: function (callback) {
      // The content's own height (scrollHeight would never let the frame shrink again).
      var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
      send("resizeWindow", { width: "100%", height: height }, callback || function () {});
    },
    installFinish: function () {
      send("setInstallFinish", {});
    },
  };
})();
