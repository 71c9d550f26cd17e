/** Readable on a laptop, light or dark as the reader's system prefers; visible focus everywhere. */
export const BASE_CSS = `
:root{color-scheme:light dark;--bg:#f6f7f9;--panel:#fff;--fg:#1c2430;--muted:#5d6978;--line:#d9dee5;
--accent:#2459c7;--ok:#1d7f46;--bad:#c0342b;--warn:#a86400;--run:#2459c7;--off:#7a8592;--rb:#7a4bb8;
--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
@media (prefers-color-scheme:dark){:root{--bg:#12161c;--panel:#1a2029;--fg:#e3e8ef;--muted:#9aa6b5;
--line:#2e3744;--accent:#7aa7ff;--ok:#4cc38a;--bad:#ff7b72;--warn:#e3a33b;--run:#7aa7ff;--off:#8b96a3;--rb:#b99af0}}
*{box-sizing:border-box}
[hidden]{display:none!important}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif}
header.top{display:flex;flex-wrap:wrap;gap:8px 24px;align-items:center;padding:12px 24px;background:var(--panel);
border-bottom:1px solid var(--line)}
header.top h1{font-size:18px;margin:0}
header.top h1 a{color:inherit;text-decoration:none}
main{max-width:1280px;margin:0 auto;padding:16px 24px 48px}
a{color:var(--accent)}
h2{font-size:15px;margin:0 0 10px}
h3{font-size:14px;margin:16px 0 6px}
.panel{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:14px 16px;margin-bottom:16px;min-width:0}
.grid{display:grid;grid-template-columns:minmax(0,5fr) minmax(0,6fr);gap:16px}
@media (max-width:980px){.grid{grid-template-columns:minmax(0,1fr)}}
.muted{color:var(--muted)}
.mono,code,pre{font-family:var(--mono);font-size:12.5px}
pre{margin:0;padding:10px 12px;background:var(--bg);border:1px solid var(--line);border-radius:6px;overflow:auto;
max-height:480px;white-space:pre-wrap;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-weight:600;color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.03em}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.stats{display:flex;flex-wrap:wrap;gap:2px 14px;margin:0;color:var(--muted);font-size:13px}
.stats b{color:var(--fg);font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;white-space:nowrap;
border:1px solid currentColor}
.o-pending,.o-aborted{color:var(--off)}.o-running{color:var(--run)}.o-verifying{color:var(--warn)}
.o-promoted{color:var(--ok)}.o-rolled_back{color:var(--rb)}.o-failed,.o-timed_out{color:var(--bad)}
.pass{color:var(--ok);font-weight:600}.fail{color:var(--bad);font-weight:600}
button{font:inherit;padding:4px 12px;border-radius:6px;border:1px solid var(--line);background:var(--panel);
color:var(--fg);cursor:pointer}
button:hover:not(:disabled){border-color:var(--accent)}
button.primary{background:var(--accent);border-color:var(--accent);color:#fff}
button.danger{color:var(--bad);border-color:currentColor}
button:disabled{opacity:.5;cursor:not-allowed}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
input{font:inherit;padding:4px 8px;border-radius:6px;border:1px solid var(--line);background:var(--panel);color:var(--fg)}
.actions{display:flex;gap:6px;flex-wrap:wrap;align-items:center}
#notice:empty{display:none}
#notice{padding:8px 12px;border-radius:6px;margin-bottom:16px;border:1px solid var(--line);background:var(--panel)}
#notice.error{border-color:var(--bad);color:var(--bad)}
#notice.ok{border-color:var(--ok);color:var(--ok)}
.token{display:flex;gap:6px;align-items:center;margin-left:auto}
details>summary{cursor:pointer;color:var(--muted)}
`;
