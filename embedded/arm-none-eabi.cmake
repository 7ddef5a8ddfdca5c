# CMake toolchain file: bare-metal Cortex-M4F (QEMU mps2-an386 and real parts).
#   cmake -S embedded -B build-emb/arm -DCMAKE_TOOLCHAIN_FILE=embedded/arm-none-eabi.cmake
# Debian packages: gcc-arm-none-eabi libnewlib-arm-none-eabi (scripts/install-deps.sh).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
set(CMAKE_OBJCOPY arm-none-eabi-objcopy CACHE FILEPATH "")
set(CMAKE_SIZE arm-none-eabi-size CACHE FILEPATH "")
# no OS to run a test executable on: try_compile builds a static library
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

# Cortex-M4 with the single-precision FPU, hard-float ABI. Contraction off:
# no fused multiply-add (vfma), so every float operation rounds on its own,
# as on the host build (the generated code's bit-identity rests on it).
set(MALSTM_CPU_FLAGS "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -ffp-contract=off")
set(CMAKE_C_FLAGS_INIT "${MALSTM_CPU_FLAGS} -ffunction-sections -fdata-sections")
set(CMAKE_ASM_FLAGS_INIT "${MALSTM_CPU_FLAGS}")
# newlib + semihosting syscalls (librdimon); our own startup (embedded/startup.c)
# replaces rdimon's crt0.
set(CMAKE_EXE_LINKER_FLAGS_INIT "--specs=rdimon.specs -nostartfiles -Wl,--gc-sections")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
