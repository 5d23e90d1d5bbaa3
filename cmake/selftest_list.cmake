# Run by ctest (<prefix>_list): the self-test names a binary knows
# (`<binary> [<args>] --list`) must be exactly the CMake list that
# registered one ctest per name (asp_selftests in CMakeLists.txt).
#   cmake -DBIN=<binary> "-DARGS=<args>" "-DEXPECTED=a|b|c" -P selftest_list.cmake
string (REPLACE "|" ";" expected "${EXPECTED}")
string (REPLACE "|" ";" args "${ARGS}")
execute_process (COMMAND ${BIN} ${args} --list
                 OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if (NOT rc EQUAL 0)
    message (FATAL_ERROR "${BIN} --list failed with status ${rc}")
endif ()
string (STRIP "${out}" out)
string (REPLACE "\n" ";" known "${out}")
if (NOT known STREQUAL expected)
    message (FATAL_ERROR "self-tests differ: ${BIN} knows [${known}], CMake registers [${expected}]")
endif ()
message (STATUS "${BIN}: ${known}")
