// Live notifications panel: fetch the client settings, connect, list every notification.
(async function () {
  const status = document.getElementById("status");
  const list = document.getElementById("notifications");
  const config = await (await fetch("/api/websocket/client-config")).json();
  const socket = io({ path: config.path, transports: config.transports,
                      reconnectionAttempts: config.reconnectionAttempts });
  socket.on("connect", () => { status.textContent = "live"; status.className = "status live"; });
  socket.on("disconnect", () => { status.textContent = "disconnected"; status.className = "status"; });
  socket.on("notification", (n) => {
    const item = document.createElement("li");
    item.textContent = n.message;
    item.dataset.kind = n.kind;
    list.appendChild(item);
  });
  window.wslabSocket = socket;
})();
