// The SSH page's script (internal/webssh): a terminal over Kudu's
// /exec/shell WebSocket, whose binary messages carry the terminal's input
// and output and whose text message {"width","height"} sizes it.
import { Terminal } from "./xterm.mjs";
import { FitAddon } from "./addon-fit.mjs";

const status = document.getElementById("status");
// What the shell prints is the app's: a link it prints (OSC 8) opens only
// if it is http(s), in a window that cannot reach this page.
const term = new Terminal({
  cursorBlink: true,
  scrollback: 5000,
  linkHandler: {
    activate(event, uri) {
      if (/^https?:\/\//i.test(uri)) {
        window.open(uri, "_blank", "noopener,noreferrer");
      }
    },
  },
});
const fit = new FitAddon();
term.loadAddon(fit);
term.open(document.getElementById("terminal"));
fit.fit();

const scheme = location.protocol === "https:" ? "wss://" : "ws://";
const ws = new WebSocket(scheme + location.host + "/exec/shell");
ws.binaryType = "arraybuffer";
const encoder = new TextEncoder();
let opened = false;

function sendSize() {
  if (ws.readyState === WebSocket.OPEN) {
    ws.send(JSON.stringify({ width: term.cols, height: term.rows }));
  }
}

function send(bytes) {
  if (ws.readyState === WebSocket.OPEN) {
    ws.send(bytes);
  }
}

ws.onopen = () => {
  opened = true;
  status.textContent = "Connected";
  document.body.dataset.state = "connected";
  sendSize();
  term.focus();
};
ws.onmessage = (e) => term.write(new Uint8Array(e.data));
ws.onclose = (e) => {
  document.body.dataset.state = "closed";
  if (opened) {
    status.textContent = "The session ended";
    term.write("\r\n\x1b[1mThe session ended. Reload the page for a new one.\x1b[0m\r\n");
    return;
  }
  // A refused handshake reaches a page as code 1006 without its reason.
  status.textContent = "Not connected";
  term.write("\x1b[1mThe session could not start (code " + e.code + "). " +
    "Is the app running (az webapp show), and has it fewer than 4 SSH sessions open? " +
    "Reload the page to try again.\x1b[0m\r\n");
};

term.onData((data) => send(encoder.encode(data)));
term.onBinary((data) => send(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff)));
term.onResize(sendSize);
window.addEventListener("resize", () => fit.fit());
