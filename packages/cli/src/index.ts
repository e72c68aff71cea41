export { main, buildProgram } from './main.js';
export { reportError } from './report-error.js';
export { BUILTIN_PLUGINS, DEFAULT_PRESETS } from './builtin-plugins.js';
