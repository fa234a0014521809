#include "vm/accel.h"

#include <gtest/gtest.h>

namespace sbx::vm {
namespace {

TEST(Accel, AutoNeedsBothKvmAndCpuFlags) {
  EXPECT_EQ(*choose_accel("", {true, true}), Accel::kKvm);
  EXPECT_EQ(*choose_accel("auto", {true, true}), Accel::kKvm);
  // This development machine: /dev/kvm works, no vmx/svm (nested PVM).
  EXPECT_EQ(*choose_accel("auto", {true, false}), Accel::kTcg);
  EXPECT_EQ(*choose_accel("", {false, true}), Accel::kTcg);
  EXPECT_EQ(*choose_accel("AUTO", {false, false}), Accel::kTcg);
}

TEST(Accel, ExplicitChoices) {
  EXPECT_EQ(*choose_accel("tcg", {true, true}), Accel::kTcg);
  // Explicit kvm is honoured without cpu flags (the user asked for it).
  EXPECT_EQ(*choose_accel("kvm", {true, false}), Accel::kKvm);
  auto r = choose_accel("kvm", {false, true});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("/dev/kvm"), std::string::npos);
}

TEST(Accel, UnknownValueListsValidOnes) {
  auto r = choose_accel("hvf", {true, true});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("'hvf'"), std::string::npos);
  EXPECT_NE(r.error().message.find("auto, kvm, tcg"), std::string::npos);
}

TEST(Accel, CpuinfoFlags) {
  EXPECT_TRUE(cpuinfo_has_vmx_or_svm("processor\t: 0\nflags\t\t: fpu vme svm lm\n"));
  EXPECT_TRUE(cpuinfo_has_vmx_or_svm("flags\t: vmx\n"));
  EXPECT_FALSE(cpuinfo_has_vmx_or_svm("flags\t: fpu svmx lm\n"));
  // Only the flags line counts.
  EXPECT_FALSE(cpuinfo_has_vmx_or_svm("model name\t: vmx svm\nflags\t: fpu\n"));
}

TEST(Accel, ProbeMatchesHost) {
  HostProbe p = probe_host();
  auto a = choose_accel("auto", p);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a == Accel::kKvm, p.kvm_usable && p.cpu_has_vmx_or_svm);
  EXPECT_EQ(accel_name(Accel::kKvm), "kvm");
  EXPECT_EQ(accel_name(Accel::kTcg), "tcg");
}

}  // namespace
}  // namespace sbx::vm
