# ferry_warnings: the warning flags for ferry's own code (third-party code is SYSTEM).
add_library(ferry_warnings INTERFACE)
target_compile_options(ferry_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
                       $<$<BOOL:${FERRY_WERROR}>:-Werror>)
