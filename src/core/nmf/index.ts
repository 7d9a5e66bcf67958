export { klDivergence, klUpdateH, klUpdateW, KL_EPSILON } from './kl';
export { frobeniusLoss, frobeniusUpdateH, frobeniusUpdateW } from './frobenius';
export { initFactors, initFactorsAsync, type InitMethod, type Factors } from './init';
export { randomizedSvd, randomizedSvdAsync, type TruncatedSvd, type RandomizedSvdOptions } from './svd';
export { factorize, CHECK_EVERY, type NmfOptions, type NmfResult } from './factorize';
export { projectActivations, normalizeActivations, imageFeatures, type ProjectionLoss } from './project';
