import { configure } from "@testing-library/react";

// ctest runs other suites alongside on two cores: give async queries room.
configure({ asyncUtilTimeout: 5000 });
