export { main, buildProgram } from './main.js';
export { reportError } from './report-error.js';
