# Doxygen input filter for include/arrjit.h. The header keeps plain C
# comments (STYLE.md); Doxygen reads only /** and /**<, so this turns a
# comment that opens a line into a doc comment for what follows, a comment
# after a member or enumerator into one for that member, and the file's
# opening comment into the file's description. Section rules (/* ---- x
# ---- */) stay plain comments, and the X macros that expand the tables
# inside the enums go (Doxygen lists them as macros of their own).
# Line numbers are kept.
\#^/\* ----#b
s/^#define X(.*//
s/^#undef X$//
1s#^/\*$#/** @file#
s#^\([[:space:]]*\)/\*\([^*]\|$\)#\1/**\2#
s#^\([[:space:]]*[^[:space:]/].*[;,]\)\([[:space:]]*\)/\*\([^*]\)#\1\2/**<\3#
