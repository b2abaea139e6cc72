#include <gtest/gtest.h>
TEST(Stages, Placeholder) {}
