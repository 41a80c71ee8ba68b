// The worker's one workflowsPath: every workflow type is exported from here.
export {};
