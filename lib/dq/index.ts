/** Data quality: expectations declared as rows, enforced in loads and evaluated after refreshes. */
export * from './types';
export * from './definitions';
export * from './enforce';
export * from './evaluate';
export * from './results';
export * from './volume';
