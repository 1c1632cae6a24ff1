# SPDX-License-Identifier: MIT
# cmake -DCMARK=... -DDOCS=<docs folder> -DHELP_XML=... -DOUT=<help>/en -P make-help.cmake
# Makes the GIMP filter's help pages: docs/gimp.md as one HTML page (cmark-gfm), its
# screenshots beside it, and the help-id map GIMP reads (gimp-help.xml).
execute_process(COMMAND ${CMARK} --extension table --to html ${DOCS}/gimp.md OUTPUT_VARIABLE body RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "cmark-gfm could not convert ${DOCS}/gimp.md")
endif()
file(MAKE_DIRECTORY ${OUT}/images)
file(WRITE ${OUT}/gimp.html.tmp "<!DOCTYPE html>
<html lang=\"en\">
<head>
<meta charset=\"utf-8\">
<title>steg in GIMP</title>
<style>body { max-width: 52em; margin: 2em auto; padding: 0 1em; font-family: sans-serif; line-height: 1.45 }
img { max-width: 100% } pre { background: #f4f4f4; padding: .6em; overflow-x: auto }</style>
</head>
<body>
${body}</body>
</html>
")
file(RENAME ${OUT}/gimp.html.tmp ${OUT}/gimp.html)
file(GLOB shots ${DOCS}/images/gimp*.png)
file(COPY ${shots} DESTINATION ${OUT}/images)
configure_file(${HELP_XML} ${OUT}/gimp-help.xml COPYONLY)
