/* A shared library without the entry symbol. */
__attribute__((visibility("default"))) int not_a_simbi_plugin(void) { return 42; }
