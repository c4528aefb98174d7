/**
 * The dashboard page's style sheet, and the palette its clients are drawn in.
 *
 * @module
 */

/**
 * Well-separated colours, one per client while they last (in arrival order),
 * readable on the page's dark background. Its length is the feed's palette size.
 */
export const DASHBOARD_PALETTE: readonly string[] = [
  "#4e9af1", // blue
  "#f28e2b", // orange
  "#59c15a", // green
  "#e8545a", // red
  "#b884e8", // purple
  "#f0d04b", // yellow
  "#4fd1c5", // teal
  "#ff8fc8", // pink
  "#b08457", // brown
  "#c9ccd1", // grey
];

/** The page's CSS. */
export const DASHBOARD_CSS = `
:root {
  --bg: #0f1419; --panel: #161d25; --line: #263241; --text: #e6edf3; --muted: #8b98a5;
  --accent: #58a6ff; --good: #3fb950; --warn: #d29922; --bad: #f85149;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); }
header { display: flex; align-items: baseline; gap: 1rem; padding: 14px 24px 6px; }
header h1 { margin: 0; font-size: 20px; letter-spacing: .02em; }
header .address { color: var(--muted); font-family: ui-monospace, monospace; font-size: 13px; }
header .fleet { font-size: 13px; color: var(--muted); }
header .fleet.lost { color: var(--bad); font-weight: 600; }
header .status { margin-left: auto; font-size: 13px; color: var(--muted); }
header .status.live::before { content: "●"; color: var(--good); margin-right: 6px; }
main { display: grid; grid-template-columns: minmax(0, 1fr) 360px; gap: 14px; padding: 8px 24px 24px; }
section { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px; }
h2 { margin: 0 0 4px; font-size: 13px; font-weight: 650; color: var(--text);
     text-transform: uppercase; letter-spacing: .08em; }
h2 .part { color: var(--accent); }
.hint { margin: 0 0 10px; font-size: 13px; color: var(--muted); }
.type-size { background: #0b1015; color: var(--text); border: 1px solid var(--line); border-radius: 5px;
             font-size: 13px; padding: 2px 8px; cursor: pointer; }
body.large main, body.large header { zoom: 1.3; }
.stats { grid-column: 1 / -1; display: grid; grid-template-columns: repeat(7, minmax(0, 1fr)); gap: 10px; }
.stat { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 8px 12px; }
.stat .value { font-size: 24px; font-weight: 650; font-variant-numeric: tabular-nums; }
.stat .label { font-size: 12px; color: var(--muted); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.stat .value { white-space: nowrap; }
.lanes { display: flex; flex-direction: column; gap: 8px; }
.lane { display: grid; grid-template-columns: 96px minmax(0, 1fr) 92px; align-items: center; gap: 8px; }
.lane .name { font-size: 13px; color: var(--muted); font-family: ui-monospace, monospace;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.track { position: relative; height: 34px; background: #0b1015; border-radius: 6px; overflow: hidden;
         border: 1px solid var(--line); }
.strip { position: absolute; inset: 0; will-change: transform; }
.bar { position: absolute; top: 4px; bottom: 4px; border-radius: 2px; min-width: 2px;
       box-shadow: inset 0 0 0 1px rgba(0,0,0,.45); }
.queue { display: flex; align-items: center; gap: 3px; font-size: 11px; color: var(--muted); white-space: nowrap;
         font-variant-numeric: tabular-nums; }
.queue .slot { width: 8px; height: 22px; border: 1px dashed var(--muted); border-radius: 2px; }
.axis { position: relative; height: 18px; margin: 0 100px 0 104px; font-size: 11px; color: var(--muted); }
.axis span { position: absolute; transform: translateX(-50%); white-space: nowrap; }
.zoom { margin-left: auto; display: inline-flex; gap: 4px; }
.zoom button { background: #0b1015; color: var(--muted); border: 1px solid var(--line); border-radius: 5px;
               font-size: 11px; padding: 2px 8px; cursor: pointer; }
.zoom input[type=range] { width: 120px; }
#scrub-text { font-size: 11px; color: var(--warn); min-width: 44px; }
.controls { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; font-size: 13px; margin-top: 6px; }
.controls input { background: #0b1015; color: var(--text); border: 1px solid var(--line); border-radius: 5px;
                  padding: 2px 6px; width: 64px; }
.controls a { color: var(--accent); }
.controls button { background: #0b1015; color: var(--text); border: 1px solid var(--accent); border-radius: 5px;
                   padding: 2px 10px; cursor: pointer; }
.zoom button.on { color: var(--text); border-color: var(--accent); }
h2.with-zoom { display: flex; align-items: center; }
.swatch { display: inline-grid; place-items: center; width: 14px; height: 14px; border-radius: 3px; flex: none;
          font-size: 9px; font-weight: 700; color: #0b1015; }
.slots { display: grid; grid-template-columns: repeat(auto-fill, minmax(74px, 1fr)); gap: 6px; }
.slots .box { border: 1px solid var(--line); border-radius: 6px; padding: 5px 6px; font-size: 11px;
              font-family: ui-monospace, monospace; display: flex; align-items: center; gap: 5px; min-height: 28px; }
.slots .box.free { border-style: dashed; color: var(--muted); }
.slots .box.taken { background: #0b1015; }
button.stop { display: none; padding: 0 3px; font-size: 10px; line-height: 12px; color: var(--muted);
  background: #0b1015; border: 1px solid var(--line); border-radius: 4px; cursor: pointer; }
body.controls-on button.stop { display: inline; }
/* With the controls on, a slot is wider: its × sits after the client's name, never over it. */
body.controls-on .slots { grid-template-columns: repeat(auto-fill, minmax(100px, 1fr)); }
.slots .box button.stop { margin-left: auto; }
.line { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 6px; list-style: none; padding: 0; }
.line li { display: flex; align-items: center; gap: 5px; font-size: 11px; font-family: ui-monospace, monospace;
           border: 1px solid var(--warn); color: var(--warn); border-radius: 6px; padding: 3px 6px; }
h3 { margin: 12px 0 0; font-size: 12px; color: var(--muted); font-weight: 600; }
.empty { color: var(--muted); font-size: 12px; font-style: italic; }
.bar.running { outline: 2px solid var(--text); outline-offset: -2px; }
.lane.gone .name { color: var(--bad); font-style: italic; }
.lane.gone .track { opacity: .35; }
.bar.summary { box-shadow: none; border-radius: 0; }
.more, .note { color: var(--muted); font-size: 12px; margin-top: 6px; }
.rows { display: flex; flex-direction: column; }
.request { display: grid; grid-template-columns: 44px 150px 64px minmax(0, 1fr) 180px 110px; gap: 10px;
           align-items: center; font-size: 13px; padding: 5px 0; border-bottom: 1px solid var(--line); }
.request .conn, .finished .conn, .mutex .conn { display: flex; align-items: center; gap: 6px;
           font-family: ui-monospace, monospace; font-size: 12px; }
.numbers { font-family: ui-monospace, monospace; font-size: 13px; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
.numbers > span { white-space: nowrap; }
.numbers b { font-size: 15px; }
.fraction { font-variant-numeric: tabular-nums; text-align: right; font-size: 12px; color: var(--muted);
  white-space: nowrap; }
.progress { height: 10px; background: #0b1015; border-radius: 5px; overflow: hidden; border: 1px solid var(--line); }
.progress > div { height: 100%; width: 0; }
.mutex { display: grid; grid-template-columns: 34px 70px 58px minmax(0, 1fr) auto; gap: 8px; align-items: center;
         font-size: 12px; padding: 4px 0; border-bottom: 1px solid var(--line); }
.lock { font-size: 11px; border-radius: 5px; padding: 2px 6px; border: 1px solid var(--line); color: var(--muted); }
.lock.held { border-color: var(--good); color: var(--good); }
.lock.lost { border-color: var(--bad); color: var(--bad); }
.model { font-size: 11px; border-radius: 5px; padding: 1px 5px; text-align: center; border: 1px solid var(--line);
         color: var(--muted); }
.model.racy { border-color: var(--bad); color: var(--bad); }
.model.locked { border-color: var(--warn); color: var(--warn); }
.numbers .lost { color: var(--bad); }
.mutex .guard { color: var(--muted); font-size: 11px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.finished-list { grid-column: 1 / -1; }
.finished { display: grid; grid-template-columns: 44px 150px 64px minmax(0, 1fr) 90px; gap: 10px; align-items: center;
            font-size: 13px; padding: 4px 0; border-bottom: 1px solid var(--line); }
.finished .time { text-align: right; font-variant-numeric: tabular-nums; color: var(--muted); font-size: 12px; }
.finished.failed .numbers { color: var(--bad); }
.id { font-family: ui-monospace, monospace; color: var(--muted); }
/* The step panel: projected, so large type (16 px and up). */
.step-panel { grid-column: 1 / -1; font-size: 16px; min-width: 0; overflow-wrap: anywhere; }
.step-panel h2 { font-size: 16px; }
.step-panel .hint { font-size: 16px; }
.step-form { display: flex; flex-wrap: wrap; align-items: center; gap: 10px; margin-bottom: 10px; }
.step-panel select, .step-panel input, .step-panel button { font-size: 16px; background: #0b1015;
  color: var(--text); border: 1px solid var(--line); border-radius: 6px; padding: 4px 10px; }
.step-panel button { border-color: var(--accent); cursor: pointer; }
.step-panel button:disabled { border-color: var(--line); color: var(--muted); cursor: default; }
.step-workers { display: flex; flex-direction: column; }
.step-worker { display: grid; grid-template-columns: 110px minmax(0, 380px) 140px 110px; gap: 12px;
  align-items: center; padding: 6px 0; border-bottom: 1px solid var(--line); }
.step-worker.step-head { color: var(--muted); padding-top: 0; }
.step-name { font-family: ui-monospace, monospace; }
.step-next { font-size: 18px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.step-worker.waits .step-next { color: var(--warn); }
.step-worker.done .step-next { color: var(--muted); }
.step-read { font-family: ui-monospace, monospace; font-size: 22px; font-weight: 650;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.step-value { margin: 12px 0 4px; font-size: 18px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.step-value b { font-family: ui-monospace, monospace; font-size: 30px; margin: 0 10px; }
.step-result { font-weight: 650; }
.step-result.lost { color: var(--bad); }
.step-schedule { margin: 6px 0; display: flex; flex-wrap: wrap; align-items: center; gap: 10px; }
.step-schedule code { font-size: 18px; background: #0b1015; border: 1px solid var(--line); border-radius: 6px;
  padding: 3px 8px; user-select: all; }
#step-replay { color: var(--muted); font-size: 16px; font-family: ui-monospace, monospace; }
.step-said { margin: 6px 0; padding-left: 28px; columns: 2 300px; font-family: ui-monospace, monospace; }
.step-said li { padding: 1px 0; break-inside: avoid; }
.step-note { margin: 6px 0 0; color: var(--muted); }
.step-note.bad { color: var(--bad); }
/* A projector's 1024 px: one column, so no number wraps. */
@media (max-width: 1400px) { main { grid-template-columns: minmax(0, 1fr); }
  .stats { grid-template-columns: repeat(4, minmax(0, 1fr)); } }
`;
