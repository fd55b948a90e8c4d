/** Hostile inputs shared by the attack suites. */

/** 195 bytes: a 6000×6000 canvas blurred with stdDeviation 900 (minutes of librsvg work). */
export const SVG_BOMB = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="6000" height="6000"><filter id="f"><feGaussianBlur stdDeviation="900"/></filter><rect width="6000" height="6000" fill="red" filter="url(#f)"/></svg>');
