/**
 * At least one character a reader can see: not whitespace, not a format character (zero-width
 * spaces and joiners, bidi marks, soft hyphen, BOM: \p{Cf}), not a control, not a lone combining
 * mark, not one of the blank-looking letters (Hangul fillers, braille blank). A name made only of
 * those looks empty or impersonates another in a list.
 */
export const HAS_VISIBLE_CHARACTER = /[^\s\p{Cf}\p{Cc}\p{Z}\p{M}\u115f\u1160\u3164\uffa0\u2800]/u;
