export { main, buildProgram } from './main.js';
export { reportError } from './report-error.js';
export { BUILTIN_PLUGINS, DEFAULT_PRESETS } from './builtin-plugins.js';
/** Vega-Lite spec → SVG, as `kava report` draws its charts (for scripts that draw theirs alike). */
export { renderSvg } from './report/write-report.js';
