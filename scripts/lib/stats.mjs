// The experiment tables' statistics are @kava/experiments' (one copy for the scripts and the package).
export { mean, median, pairedBootstrap, seedQuestionBootstrap, std } from '@kava/experiments';
