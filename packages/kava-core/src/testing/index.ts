// @kava/core/testing: what a plugin's own tests need, kept out of the main entry point so
// that production code never loads it.
export {
  scorerContractCases,
  checkScorerContract,
  contractInput,
  CONTRACT_DIMS,
  type ScorerContractCase,
  type ScorerContractCheck,
  type ScorerContractOptions,
  type ContractInputSpec,
} from './scorer-contract.js';
