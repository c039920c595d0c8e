/** Limits every walk of the tree honours (PROPFIND Depth infinity, COPY of a collection). */
/** Deepest collection a walk descends into: a guard against chains of symlinks. */
export const MAX_TREE_DEPTH = 64;
