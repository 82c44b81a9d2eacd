/* The quickstart model's manifest and int8 blobs, in flash, 16-byte aligned as the micro backend
   requires. The assembler finds them through -Wa,-I<model dir> (the Makefile's MODEL). */
    .section .rodata.edgevae_model, "a"

    .balign 16
    .global manifest_json, manifest_json_end
manifest_json:
    .incbin "manifest.json"
manifest_json_end:

    .balign 16
    .global sampler_blob, sampler_blob_end
sampler_blob:
    .incbin "sampler_micro_int8.bin"
sampler_blob_end:

    .balign 16
    .global filter_blob, filter_blob_end
filter_blob:
    .incbin "filter_micro_int8.bin"
filter_blob_end:

    .section .note.GNU-stack, "", %progbits
