# Renders templates/cell.c.in once per activation into host_cells.c, which
# compiler/kernels.c includes: the JIT's cell is then the same text as the
# standalone sources' cell. Run as: cmake -DIN=cell.c.in -DOUT=host_cells.c -DHMAX=N -P host_cells.cmake
file(READ "${IN}" text)
set(out "/* host_cells.c - generated from templates/cell.c.in by compiler/host_cells.cmake; do not edit. */\n")
set(names tanh sigmoid softsign softmax)   # mal_act order
foreach(id 0 1 2 3)
  list(GET names ${id} name)
  string(REPLACE "{{PU}}" "MALCC_HOST_A${id}" t "${text}")
  string(REPLACE "{{P}}" "malcc_host_a${id}" t "${t}")
  string(REPLACE "{{HMAX}}" "${HMAX}" t "${t}")
  string(REPLACE "{{ACT_ID}}" "${id}" t "${t}")
  string(REPLACE "{{ACT}}" "${name}" t "${t}")
  string(FIND "${t}" "{{" left)
  if(NOT left EQUAL -1)
    message(FATAL_ERROR "host_cells.cmake: a placeholder of ${IN} is not filled")
  endif()
  string(APPEND out "\n/* ---- activation ${id}: ${name} ---- */\n${t}")
endforeach()
file(WRITE "${OUT}.tmp" "${out}")
file(RENAME "${OUT}.tmp" "${OUT}")
