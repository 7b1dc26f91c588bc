# exactly_warnings(<target>): the project's warning set, applied to our own
# targets only (never exported to consumers).
function(exactly_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wimplicit-fallthrough -Wcast-align)
  if(EXACTLY_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
