# Also: ggml-vulkan built against older Vulkan headers (at the end).
# Included by CMake after every project() call of whisper.cpp's build (whisper-rs-sys
# passes CMAKE_* variables from the environment to CMake; .cargo/config.toml sets
# CMAKE_PROJECT_INCLUDE to this file). It edits whisper.cpp's copy of its sources in
# the build folder (never the crate's) before anything is compiled, so that the
# encoder's remaining big products go to BLAS, which only takes contiguous f32
# operands (f16 weights it converts itself):
#
# - the attention product K*Q was made of two permuted views: both are made contiguous
#   (a copy of 1500x384 values per layer). It ran in ggml's own f16 kernels at a fifth
#   of OpenBLAS's speed: ~45% of the encoder's time for a quarter of its arithmetic.
# - the two convolutions unrolled their input to f16 (im2col) and multiplied f16 by f16:
#   they unroll to f32 and multiply by the kernel cast to f32.
#
# Each edit is checked: if whisper.cpp's text is not found (another version), the build
# stops and says so instead of silently building without it. Nothing else changes: the
# transcripts of the speed bench's eight lectures are the same, word for word.
set(_v2d_file "${CMAKE_SOURCE_DIR}/src/whisper.cpp")

# Replaces the first occurrence of OLD by NEW in _v2d_src, or stops the build.
function(v2d_replace old new)
  string(FIND "${_v2d_src}" "${old}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "video2doc: whisper.cpp is not as expected in ${_v2d_file} (looked for: ${old}); update whisper/encoder-on-blas.cmake")
  endif()
  string(LENGTH "${old}" len)
  string(SUBSTRING "${_v2d_src}" 0 ${at} head)
  math(EXPR rest "${at} + ${len}")
  string(SUBSTRING "${_v2d_src}" ${rest} -1 tail)
  set(_v2d_src "${head}${new}${tail}" PARENT_SCOPE)
endfunction()

if(EXISTS "${_v2d_file}")
  file(READ "${_v2d_file}" _v2d_src)
  string(FIND "${_v2d_src}" "// video2doc:" _v2d_done)
  if(_v2d_done EQUAL -1)
    # The encoder's attention (the first such block; the decoder's differ).
    v2d_replace(
      "                struct ggml_tensor * KQ = ggml_mul_mat(ctx0, K, Q);\n\n                struct ggml_tensor * KQ_soft_max = ggml_soft_max_ext(ctx0, KQ, nullptr, KQscale, 0.0f);"
      "                struct ggml_tensor * KQ = ggml_mul_mat(ctx0, ggml_cont(ctx0, K), ggml_cont(ctx0, Q)); // video2doc: contiguous, for BLAS\n\n                struct ggml_tensor * KQ_soft_max = ggml_soft_max_ext(ctx0, KQ, nullptr, KQscale, 0.0f);")
    # The convolutions.
    v2d_replace(
      "static struct ggml_cgraph * whisper_build_graph_conv("
      "// video2doc: ggml_conv_1d_ph with f32 operands, for BLAS.\nstatic struct ggml_tensor * v2d_conv_1d_ph(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, int s, int d) {\n    struct ggml_tensor * im2col = ggml_im2col(ctx, a, b, s, 0, a->ne[0]/2, 0, d, 0, false, GGML_TYPE_F32);\n    struct ggml_tensor * w = ggml_cast(ctx, a, GGML_TYPE_F32);\n    struct ggml_tensor * result = ggml_mul_mat(ctx,\n            ggml_reshape_2d(ctx, im2col, im2col->ne[0], im2col->ne[2] * im2col->ne[1]),\n            ggml_reshape_2d(ctx, w, w->ne[0] * w->ne[1], w->ne[2]));\n    return ggml_reshape_3d(ctx, result, im2col->ne[1], a->ne[2], im2col->ne[2]);\n}\n\nstatic struct ggml_cgraph * whisper_build_graph_conv(")
    v2d_replace(
      "cur = ggml_conv_1d_ph(ctx0, model.e_conv_1_w, mel, 1, 1);"
      "cur = v2d_conv_1d_ph(ctx0, model.e_conv_1_w, mel, 1, 1);")
    v2d_replace(
      "cur = ggml_conv_1d_ph(ctx0, model.e_conv_2_w, cur, 2, 1);"
      "cur = v2d_conv_1d_ph(ctx0, model.e_conv_2_w, cur, 2, 1);")
    file(WRITE "${_v2d_file}" "${_v2d_src}")
    message(STATUS "video2doc: the encoder's attention and convolutions on BLAS")
  endif()
endif()

# The GPU workers' Vulkan backend (GGML_VULKAN=ON; never the app's CPU build): Vulkan
# headers older than 1.3.268 (Debian 12 ships 1.3.239, Ubuntu 22.04 1.3.204) lack
# VK_EXT_layer_settings, which ggml uses only to switch on the validation layer's
# best-practice checks in its debug builds. With such headers the instance is created
# without those settings; with newer ones the code is ggml's own.
set(_v2d_file "${CMAKE_SOURCE_DIR}/ggml/src/ggml-vulkan/ggml-vulkan.cpp")
if(GGML_VULKAN AND EXISTS "${_v2d_file}")
  file(READ "${_v2d_file}" _v2d_src)
  string(FIND "${_v2d_src}" "// video2doc:" _v2d_done)
  if(_v2d_done EQUAL -1)
    v2d_replace(
      "    std::vector<vk::LayerSettingEXT> settings = {"
      "    // video2doc: VK_EXT_layer_settings only where the headers have it.\n#if defined(VK_EXT_LAYER_SETTINGS_EXTENSION_NAME)\n    std::vector<vk::LayerSettingEXT> settings = {")
    v2d_replace(
      "    vk::InstanceCreateInfo instance_create_info(vk::InstanceCreateFlags{}, &app_info, layers, extensions, &layer_setting_info);"
      "    vk::InstanceCreateInfo instance_create_info(vk::InstanceCreateFlags{}, &app_info, layers, extensions, &layer_setting_info);\n#else\n    (void) enable_best_practice;\n    vk::InstanceCreateInfo instance_create_info(vk::InstanceCreateFlags{}, &app_info, layers, extensions);\n#endif")
    file(WRITE "${_v2d_file}" "${_v2d_src}")
    message(STATUS "video2doc: ggml-vulkan without VK_EXT_layer_settings where the headers lack it")
  endif()
endif()
