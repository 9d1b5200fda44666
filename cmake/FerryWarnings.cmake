# ferry_warnings: the warning flags for ferry's own code (third-party code is SYSTEM).
# The asan preset adds -Wno-maybe-uninitialized: with -fsanitize=address GCC 12 reports
# false positives inside libstdc++'s <regex>, which refresh rules use.
add_library(ferry_warnings INTERFACE)
target_compile_options(ferry_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
                       $<$<BOOL:${FERRY_WERROR}>:-Werror>)
