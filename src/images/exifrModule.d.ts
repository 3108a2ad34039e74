/**
 * exifr's ES module build (its package points Node at the UMD build, which loads three times
 * slower on each thread that reads photos): the same API and types as `exifr`.
 */
declare module 'exifr/dist/full.esm.mjs' {
  import exifr from 'exifr';
  export default exifr;
}
