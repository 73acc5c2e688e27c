# The examples (examples/README.md): each checks its own answer, so each
# is a test. They link the shared library, as a program using an installed
# arrjit would.
set(AJ_EXAMPLES hot_loop norm transpose random_init multi_output)
foreach(e ${AJ_EXAMPLES})
  add_executable(example_${e} examples/${e}.c)
  target_link_libraries(example_${e} PRIVATE arrjit m)
  add_test(NAME example_${e} COMMAND example_${e})
endforeach()
